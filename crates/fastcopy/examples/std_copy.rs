//! The baseline for benchmarks: `std::fs::copy(SRC, DST)` and nothing else.

fn main() {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        eprintln!("usage: std_copy SRC DST");
        std::process::exit(2);
    };
    if let Err(e) = std::fs::copy(src, dst) {
        eprintln!("std_copy: {e}");
        std::process::exit(1);
    }
}
