//! The committed `include/fastcopy.h` is what cbindgen makes of the source.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen cannot generate the header")
        .write(&mut generated);
    let path = crate_dir.join("include/fastcopy.h");
    if std::env::var_os("FASTCOPY_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: regenerate it with \
         `FASTCOPY_BLESS=1 cargo test -p fastcopy-ffi --test tests header` and commit it",
        path.display()
    );
}
