//! `picasso features`: dump VGG activations, e.g. to compare with another framework.

use crate::network::NetworkArgs;
use clap::Args;
use engine::io::{ensure_not_input, load_image, write_atomic, LoadOptions};
use engine::{no_grad, Error, Result, Tensor};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct FeaturesArgs {
    /// Input image (PNG, JPEG, GIF).
    #[arg(
        long,
        value_name = "IMG",
        required_unless_present = "tensor",
        conflicts_with = "tensor"
    )]
    image: Option<PathBuf>,
    /// Input as a tensor in a safetensors file, `FILE:NAME`, RGB 0..255, shape 1×3×H×W.
    #[arg(long, value_name = "FILE:NAME")]
    tensor: Option<String>,
    /// Comma-separated layer names, e.g. relu1_1,relu4_2,pool5.
    #[arg(long, value_delimiter = ',', required = true)]
    layers: Vec<String>,
    /// Output safetensors file (activations as NCHW float32).
    #[arg(long, short = 'o', value_name = "OUT.safetensors")]
    out: PathBuf,
    /// Resize the image so its long side has N pixels (default: its own size).
    #[arg(long, value_name = "N")]
    size: Option<u32>,
    #[command(flatten)]
    network: NetworkArgs,
}

pub fn run(args: FeaturesArgs) -> Result<()> {
    let mut inputs: Vec<PathBuf> = Vec::new();
    let image = match (&args.image, &args.tensor) {
        (Some(path), _) => {
            inputs.push(path.clone());
            let options = LoadOptions {
                long_side: args.size,
                ..LoadOptions::default()
            };
            load_image(path, &options)?
        }
        (None, Some(spec)) => {
            let (file, tensor) = read_tensor_arg(spec)?;
            inputs.push(file);
            tensor
        }
        (None, None) => unreachable!("clap requires --image or --tensor"),
    };
    ensure_not_input(&args.out, &inputs)?;
    let vgg = args.network.load()?;
    let activations = no_grad(|| vgg.forward(&image, &args.layers))?;
    let tensors = args
        .layers
        .iter()
        .map(|name| {
            let t = &activations[name];
            weights_tools::Tensor::new(
                name.clone(),
                t.shape().to_vec(),
                t.to_vec()?,
                weights_tools::DType::F32,
            )
            .map_err(|e| Error::invalid("features", e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut set = weights_tools::WeightSet {
        tensors,
        ..Default::default()
    };
    set.metadata
        .insert("weights".into(), args.network.weights_name());
    set.metadata
        .insert("image_shape".into(), format!("{:?}", image.shape()));
    let bytes = weights_tools::to_safetensors(&set, false)
        .map_err(|e| Error::invalid("features", e.to_string()))?;
    write_atomic(&args.out, &bytes)?;
    for name in &args.layers {
        println!("{name}: {:?}", activations[name].shape());
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Parse `FILE:NAME` and load that tensor, checking it is an RGB image batch of one.
fn read_tensor_arg(spec: &str) -> Result<(PathBuf, Tensor)> {
    let (file, name) = spec.rsplit_once(':').ok_or_else(|| {
        Error::invalid(
            "--tensor",
            format!("expected FILE:NAME (e.g. ref.safetensors:image), got `{spec}`"),
        )
    })?;
    let path = Path::new(file).to_path_buf();
    let (_, set) = weights_tools::read_path(&path).map_err(|e| Error::Weights {
        source_name: path.display().to_string(),
        msg: e.to_string(),
    })?;
    let found = set
        .tensors
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| {
            Error::invalid(
                "--tensor",
                format!("{} has no tensor named `{name}`", path.display()),
            )
        })?;
    if found.shape.len() != 4 || found.shape[0] != 1 || found.shape[1] != 3 {
        return Err(Error::shape(
            "--tensor",
            format!(
                "`{name}` must have shape 1×3×H×W (an RGB image), got {:?}",
                found.shape
            ),
        ));
    }
    let tensor = Tensor::from_vec(found.data, &found.shape)?;
    Ok((path, tensor))
}
