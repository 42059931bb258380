//! The domain crate stays pure: no I/O, no clock reads, no global randomness, no runtime crates.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_domain_source_does_no_io_reads_no_clock_and_draws_no_global_randomness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 20, "domain sources not found under {root:?}");
    let forbidden = [
        "Utc::now",
        "Local::now",
        "SystemTime",
        "Instant::now",
        "std::fs",
        "std::net",
        "tokio::",
        "rand::",
        "thread_rng",
        "actix",
        "sqlx",
        "reqwest",
    ];
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                if code.contains(f) {
                    found.push(format!("{}:{}: {f}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "impure domain code:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_domain_manifest_has_no_runtime_or_io_dependency() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/Cargo.toml"))
            .expect("domain manifest");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|s| s.split("[dev-dependencies]").next())
        .expect("a [dependencies] table");
    for crate_name in ["tokio", "actix", "sqlx", "reqwest", "rand", "lettre"] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(crate_name)),
            "domain depends on {crate_name}"
        );
    }
}
