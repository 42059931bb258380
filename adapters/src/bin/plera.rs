//! The `plera` command line; everything lives in `plera_adapters::cli`.

fn main() -> std::process::ExitCode {
    plera_adapters::cli::main()
}
