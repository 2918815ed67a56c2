//! The options of `picasso serve`: where to listen, where results go, and the limits that keep
//! a server left running safe.

use crate::network::NetworkArgs;
use clap::Args;
use engine::io::image::DEFAULT_MAX_PIXELS;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. The default, loopback, is reachable from this machine only;
    /// another address (e.g. 0.0.0.0) lets other machines submit jobs, so it is warned about.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0: any free port; the URL printed at start says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Folder for the results, one sub-folder per job with names the server chooses.
    /// Default: a fresh folder `picasso-serve-N` in the current folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Largest upload of one job (its photo and paintings together), e.g. 50M.
    #[arg(long, value_name = "BYTES", default_value = "50M", value_parser = parse_bytes)]
    pub max_upload: u64,
    /// Largest picture accepted, in pixels, read from its header before it is decoded.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Jobs that may wait in the queues at once; more are refused until some finish.
    #[arg(long, default_value_t = 16)]
    pub max_queued: usize,
    /// Weights, pooling, default device (a job's settings may choose `device` and `pooling`),
    /// TF32 and the memory limit apply to every job.
    #[command(flatten)]
    pub network: NetworkArgs,
}

fn parse_bytes(text: &str) -> Result<u64, String> {
    engine::io::host_memory::parse_bytes(text)
        .ok_or_else(|| format!("`{text}` is not a size; write e.g. 50M, 500K or 2G"))
}
