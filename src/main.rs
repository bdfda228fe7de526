/// mimalloc instead of glibc malloc: a request allocates and frees a few hundred small
/// objects (JSON trees, headers), and glibc's malloc/free was ~13 % of the bridge's CPU
/// under `GET /Users?filter=…` (docs/performance.md, round 3).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scim_bridge::cli::main()
}
