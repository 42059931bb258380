//! The `plera` command line; everything lives in `plera_adapters::cli`.

#[global_allocator]
static ALLOCATOR: plera_adapters::Allocator = plera_adapters::Allocator;

fn main() -> std::process::ExitCode {
    plera_adapters::cli::main()
}
