//! What `airtask --version` prints: the version, the git revision of the build and the
//! operator families compiled in (see build.rs).

/// `airtask --version`'s text after the program name.
pub(crate) const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nrevision: ",
    env!("AIRTASK_GIT_REV"),
    "\noperator families: ",
    env!("AIRTASK_FAMILIES"),
);
