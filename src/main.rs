/// mimalloc rather than glibc's allocator: a request makes a few dozen small allocations, and
/// mimalloc's thread-local free lists serve them with fewer instructions (bench/README.md).
/// `no_thp`: without it mimalloc advises its arenas to 2 MiB pages and every thread that
/// allocates holds one, which raises the idle memory of a server with many threads. argon2's
/// 19 MiB buffers bypass the allocator (`passwords::buffer`): mimalloc would keep them after
/// they are released.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jwtd::cli::main()
}
