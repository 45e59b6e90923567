//! The operators this build implements, one Cargo feature per operator crate.

use std::sync::OnceLock;

use airtask_core::Registry;

/// The registry of every operator compiled in, built once per process on first use (the
/// loader, the renderer and the task runner all read this one).
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(build)
}

/// Builds the registry: one line per operator family.
fn build() -> Registry {
    #[allow(unused_mut)]
    let mut b = Registry::builder();
    #[cfg(feature = "op-standard")]
    {
        b = airtask_standard::register(b);
    }
    #[cfg(feature = "op-s3")]
    {
        b = airtask_s3::register(b);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use airtask_workflow::OperatorCatalog as _;

    #[test]
    fn registry_builds_and_resolves_aliases() {
        let r = super::registry();
        assert_eq!(
            r.resolve("airflow.operators.empty.EmptyOperator"),
            Some("airflow.providers.standard.operators.empty.EmptyOperator")
        );
    }
}
