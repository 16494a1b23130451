//! Tests of the fault seam: "call N of system call S fails with errno E".
