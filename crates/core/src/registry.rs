//! The operator registry: explicit registration, one entry per implemented operator.

use std::collections::HashMap;

use airtask_workflow::OperatorCatalog;

/// What an operator crate declares about one operator it implements.
#[derive(Debug, Clone, Copy)]
pub struct OperatorInfo {
    /// The canonical Airflow class path (what Airflow 3 and the AWS converter write).
    pub class_path: &'static str,
    /// Other class paths that name the same operator (Airflow 2 module paths, legacy
    /// dag-factory names).
    pub aliases: &'static [&'static str],
    /// The parameters Airflow renders as Jinja templates for this operator
    /// (`template_fields`), in Airflow's order.
    pub template_fields: &'static [&'static str],
    /// Whether the operator calls AWS: the runtime then gives it the task's AWS identity
    /// ([`crate::TaskContext::aws`]).
    pub aws: bool,
    /// Builds the operator from its rendered parameters.
    pub build: crate::BuildFn,
}

/// The operators this build of airtask implements, looked up by class path or alias.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    operators: Vec<OperatorInfo>,
    by_path: HashMap<&'static str, usize>,
}

/// Builds a [`Registry`]; see [`Registry::builder`].
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    registry: Registry,
}

impl Registry {
    /// Starts an empty registry.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The operator a class path (canonical or alias) names.
    pub fn lookup(&self, class_path: &str) -> Option<&OperatorInfo> {
        self.by_path.get(class_path).map(|&i| &self.operators[i])
    }

    /// Every registered operator, in registration order.
    pub fn operators(&self) -> &[OperatorInfo] {
        &self.operators
    }
}

impl RegistryBuilder {
    /// Registers an operator under its class path and aliases.
    ///
    /// # Panics
    /// When a class path is registered twice: that is a programming error in the wiring of
    /// `runtime`, caught by its tests.
    #[must_use]
    pub fn register(mut self, info: OperatorInfo) -> Self {
        let index = self.registry.operators.len();
        for path in std::iter::once(info.class_path).chain(info.aliases.iter().copied()) {
            let previous = self.registry.by_path.insert(path, index);
            assert!(
                previous.is_none(),
                "operator class path {path} registered twice"
            );
        }
        self.registry.operators.push(info);
        self
    }

    /// Finishes the registry.
    pub fn build(self) -> Registry {
        self.registry
    }
}

impl OperatorCatalog for Registry {
    fn resolve(&self, class_path: &str) -> Option<&str> {
        self.lookup(class_path).map(|o| o.class_path)
    }

    fn implemented(&self) -> Vec<&str> {
        self.operators.iter().map(|o| o.class_path).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: OperatorInfo = OperatorInfo {
        class_path: "pkg.new.A",
        aliases: &["pkg.old.A"],
        template_fields: &[],
        aws: false,
        build: |_| Err("test".into()),
    };

    #[test]
    fn aliases_resolve_to_the_canonical_path() {
        let r = Registry::builder().register(A).build();
        assert_eq!(r.resolve("pkg.old.A"), Some("pkg.new.A"));
        assert_eq!(r.resolve("pkg.new.A"), Some("pkg.new.A"));
        assert_eq!(r.resolve("pkg.new.B"), None);
        assert_eq!(r.implemented(), vec!["pkg.new.A"]);
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn double_registration_is_a_bug() {
        let _ = Registry::builder().register(A).register(A).build();
    }
}
