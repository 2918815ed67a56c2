//! Pictures of what networks compute: plots, filter grids, feature maps.
