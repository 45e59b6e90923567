//! The Amazon provider's Glue operators and sensors (work in progress: the family lands with the operator seam v2).

mod crawler_config;
mod job_config;
mod kwargs;
