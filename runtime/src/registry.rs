//! The operators this build implements, one Cargo feature per operator crate.

use airtask_core::Registry;

/// Builds the registry of every operator compiled in.
pub(crate) fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut builder = Registry::builder();
    #[cfg(feature = "op-standard")]
    for info in airtask_standard::OPERATORS {
        builder = builder.register_legacy(*info);
    }
    #[cfg(feature = "op-s3")]
    for info in airtask_s3::OPERATORS {
        builder = builder.register_legacy(*info);
    }
    #[cfg(feature = "op-glue")]
    {
        builder = airtask_glue::register(builder);
    }
    builder.build()
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
