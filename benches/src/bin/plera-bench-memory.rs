//! `plera-bench-memory`: resident bytes per active lead and per sender, with a counting global
//! allocator (a binary of its own, so the other benches do not pay for the counting).
//!
//! ```sh
//! cargo run --release -p plera-benches --bin plera-bench-memory -- 100000 1000
//! cargo run --release -p plera-benches --bin plera-bench-memory -- 100000 1000 memory-log
//! ```

use plera_adapters::Allocator;
use plera_benches::machine;
use plera_benches::memory;
use plera_benches::report::HEADER;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};

/// The binaries' allocator, counting the bytes it holds for the program.
struct Counting;

static LIVE: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the binaries' allocator; the counter has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        Allocator.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        Allocator.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        Allocator.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        Allocator.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let leads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let senders: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let engine_only = args.next().as_deref() != Some("memory-log");
    eprintln!("machine: {}", machine::describe());
    match memory::bench(senders, leads, engine_only, &live).await {
        Ok(figures) => {
            println!("{HEADER}");
            for f in figures {
                println!("{}", f.row());
            }
        }
        Err(e) => {
            eprintln!("plera-bench-memory: {e}");
            std::process::exit(1);
        }
    }
}
