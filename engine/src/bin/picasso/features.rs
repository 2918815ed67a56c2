//! `picasso features`: dump VGG activations, e.g. to compare with another framework.

use crate::network::NetworkArgs;
use crate::resources::{check_memory, smallest_long_side, working_size, SizeNeed};
use clap::Args;
use engine::io::image::{read_dimensions, DEFAULT_MAX_PIXELS};
use engine::io::output_lock::OutputLock;
use engine::io::{check_outputs, load_image, write_atomic, LoadOptions, OutputKind, PlannedOutput};
use engine::models::memory::{
    estimate, largest_fitting, Decode, ImageSize, MemoryEstimate, Workload,
};
use engine::models::Vgg;
use engine::{no_grad, Error, Result, Tensor};
use std::path::{Path, PathBuf};
use weights_tools::io::{check_regular, MAX_WEIGHTS_FILE};
use weights_tools::{say, tell};

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
    if args.size == Some(0) {
        return Err(Error::invalid(
            "--size",
            "the long side must be at least 1 pixel; leave --size out to use the image's own",
        ));
    }
    // Cheap checks first: the input's size from its header, the output's folder and name.
    let (input_path, file_size) = match (&args.image, &args.tensor) {
        (Some(path), _) => (
            path.clone(),
            Some(read_dimensions(path, DEFAULT_MAX_PIXELS)?),
        ),
        (None, Some(spec)) => {
            let file = tensor_file(spec)?;
            check_regular(&file, MAX_WEIGHTS_FILE, "a safetensors file")
                .map_err(|p| Error::invalid("--tensor", p.detail))?;
            (file, None)
        }
        (None, None) => unreachable!("clap requires --image or --tensor"),
    };
    let mut inputs = vec![input_path];
    inputs.extend(args.network.weights.iter().cloned());
    let output = [PlannedOutput::new("-o", &args.out, OutputKind::Safetensors)];
    check_outputs(&output, &inputs)?;
    let _lock = OutputLock::acquire_all(&output)?;
    let vgg = args.network.load()?;
    tell!("picasso: computing on {}", args.network.chosen()?.line());
    let need = SizeNeed::of(&vgg, &args.layers)?;
    if let Some(file) = file_size {
        check_image_fits(&args, &vgg, &need, file)?;
    }
    let image = match (&args.image, &args.tensor) {
        (Some(path), _) => {
            let options = LoadOptions {
                long_side: args.size,
                ..LoadOptions::default()
            };
            load_image(path, &options)?
        }
        (None, Some(spec)) => {
            let tensor = read_tensor_arg(spec)?;
            let (h, w) = (tensor.shape()[2], tensor.shape()[3]);
            if !need.allows(ImageSize::new(w, h)) {
                return Err(Error::invalid(
                    "--tensor",
                    format!("the tensor is {w}×{h} pixels, but {}", need.reason()),
                ));
            }
            tensor
        }
        (None, None) => unreachable!("clap requires --image or --tensor"),
    };
    let image = image.to_device(vgg.device())?;
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
        say!("{name}: {:?}", activations[name].shape());
    }
    say!("wrote {}", args.out.display());
    Ok(())
}

/// The image at its working size must be large enough for the deepest layer, and the pass
/// must fit in memory.
fn check_image_fits(
    args: &FeaturesArgs,
    vgg: &Vgg,
    need: &SizeNeed,
    file: (u32, u32),
) -> Result<()> {
    let long_side = args.size.unwrap_or(file.0.max(file.1));
    let size = working_size(file, long_side);
    let path = args.image.as_deref().unwrap_or(Path::new("the image"));
    if !need.allows(size) {
        let smallest = smallest_long_side(file, need.min_side);
        return Err(Error::invalid(
            "--size",
            format!(
                "at --size {long_side}, {} ({}×{}) becomes {size}, but {}. Use --size \
                 {smallest} or more",
                path.display(),
                file.0,
                file.1,
                need.reason()
            ),
        ));
    }
    let estimate_at = |long_side: u32| -> Result<MemoryEstimate> {
        let image = working_size(file, long_side);
        let workload = Workload::Forward {
            image,
            layers: args.layers.clone(),
            decodes: vec![Decode {
                file: ImageSize::new(file.0 as usize, file.1 as usize),
                working: image,
            }],
            // Copied once into the file's tensors and once into its bytes.
            copies: 2,
        };
        Ok(estimate(vgg, &workload, args.network.backend()?)?
            .with("the embedded weight file", args.network.weight_file_bytes()))
    };
    let budget = args.network.memory_budget();
    check_memory(
        &format!("computing features at {size}"),
        &estimate_at(long_side)?,
        budget.as_ref(),
        || {
            let smallest = smallest_long_side(file, need.min_side) as u64;
            let fits = |s: u64| {
                budget
                    .as_ref()
                    .is_none_or(|b| estimate_at(s as u32).is_ok_and(|e| e.fits(b.bytes)))
            };
            largest_fitting(smallest, (long_side as u64).saturating_sub(1), fits)
                .map(|s| format!("--size {s}"))
                .into_iter()
                .collect()
        },
    )
}

/// The file of a `FILE:NAME` tensor argument.
fn tensor_file(spec: &str) -> Result<PathBuf> {
    let (file, _) = spec.rsplit_once(':').ok_or_else(|| {
        Error::invalid(
            "--tensor",
            format!("expected FILE:NAME (e.g. ref.safetensors:image), got `{spec}`"),
        )
    })?;
    Ok(PathBuf::from(file))
}

/// Parse `FILE:NAME` and load that tensor, checking it is an RGB image batch of one.
fn read_tensor_arg(spec: &str) -> Result<Tensor> {
    let path = tensor_file(spec)?;
    let name = spec.rsplit_once(':').map_or("", |(_, n)| n);
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
    Tensor::from_vec(found.data, &found.shape)
}
