//! For benchmarks: copy SRC to DST with one method and no fallback, e.g.
//! `one_method read_write SRC DST` (methods: reflink, copy_file_range,
//! splice, read_write, direct_io). Prints the method and the time.

use fastcopy::{CopyOptions, Method, Reflink};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [method, src, dst] = args.as_slice() else {
        eprintln!("usage: one_method METHOD SRC DST");
        std::process::exit(2);
    };
    let method = match method.as_str() {
        "reflink" => Method::Reflink,
        "copy_file_range" => Method::CopyFileRange,
        "splice" => Method::Splice,
        "read_write" => Method::ReadWrite,
        "direct_io" => Method::DirectIo,
        other => {
            eprintln!("one_method: unknown method {other}");
            std::process::exit(2);
        }
    };
    let reflink = if method == Method::Reflink {
        Reflink::Always
    } else {
        Reflink::Auto
    };
    let opts = CopyOptions::new().reflink(reflink).only_method(method);
    match fastcopy::copy_with(src, dst, &opts) {
        Ok(r) => println!("{} {} bytes in {:?}", r.method, r.bytes, r.elapsed),
        Err(e) => {
            eprintln!("one_method: {e}");
            std::process::exit(1);
        }
    }
}
