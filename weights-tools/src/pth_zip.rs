//! PyTorch's zip serialisation (torch.save since 1.6): `<archive>/data.pkl` is the pickled
//! state_dict, each storage is the raw little-endian file `<archive>/data/<key>`.

use crate::error::{Result, WeightsError};
use crate::weights::WeightSet;
use crate::zip::Archive;
use crate::{pickle, torch};

const FMT: &str = "zip (.pth)";

pub fn read(bytes: &[u8]) -> Result<WeightSet> {
    let zip = Archive::open(bytes)?;
    let pkl = zip
        .entries
        .iter()
        .find(|e| e.name.ends_with("/data.pkl") || e.name == "data.pkl")
        .ok_or_else(|| {
            WeightsError::unsupported(FMT, "zip archive has no data.pkl: not a torch.save file")
        })?;
    let prefix = pkl.name.strip_suffix("data.pkl").unwrap_or("").to_string();
    if let Some(e) = zip.find(&format!("{prefix}byteorder")) {
        let order = zip.data(e)?;
        if order != b"little" {
            return Err(WeightsError::unsupported(
                FMT,
                format!(
                    "byte order {:?}; only little-endian files are supported",
                    String::from_utf8_lossy(order)
                ),
            ));
        }
    }
    let (p, _) = pickle::unpickle(zip.data(pkl)?)?;
    let specs = torch::tensor_specs(&p)?;
    torch::build(&specs, |key| {
        let name = format!("{prefix}data/{key}");
        let e = zip.find(&name).ok_or_else(|| {
            WeightsError::corrupt(FMT, format!("storage {name} is missing from the archive"))
        })?;
        zip.data(e)
    })
}
