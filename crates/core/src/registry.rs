//! The operator registry: explicit registration, one entry per implemented operator. Each
//! operator crate exposes `pub fn register(b: RegistryBuilder) -> RegistryBuilder`, one
//! [`RegistryBuilder::register`] call per operator; the runtime builds the registry once.

use std::collections::HashMap;

use airtask_workflow::OperatorCatalog;

use crate::operator::{BuiltOperator, build};
use crate::params::holds_template;
use crate::{Operator, OperatorSpec, ParamError, Params};

/// How an entry builds its operator: from the parameters, rendered or not.
type Builder = fn(&Params, &Params, bool) -> Result<BuiltOperator, ParamError>;

/// One implemented operator: its spec and how to build it.
#[derive(Clone, Copy)]
pub struct Entry {
    spec: OperatorSpec,
    builder: Builder,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("spec", &self.spec).finish()
    }
}

impl Entry {
    /// What the operator declares about itself.
    pub fn spec(&self) -> &OperatorSpec {
        &self.spec
    }

    /// The canonical class path.
    pub fn class_path(&self) -> &'static str {
        self.spec.class_path
    }

    /// Builds the operator for one try from its rendered parameters.
    ///
    /// # Errors
    /// A parameter that is missing, of the wrong type, unknown or not allowed.
    pub fn build(&self, params: &Params) -> Result<BuiltOperator, ParamError> {
        (self.builder)(params, &Params::new(), true)
    }

    /// [`Entry::build`] with the task's `default_args` entries: those the operator reads
    /// fill in what the task does not set; the others are not refused.
    ///
    /// # Errors
    /// As [`Entry::build`].
    pub fn build_with_defaults(
        &self,
        params: &Params,
        defaults: &Params,
    ) -> Result<BuiltOperator, ParamError> {
        (self.builder)(params, defaults, true)
    }

    /// Builds the operator from its unrendered parameters (templates left as written), as
    /// `airtask policy` does to read [`BuiltOperator::permissions`] without running anything.
    ///
    /// # Errors
    /// As [`Entry::build`]; a parameter whose template stands where a number or a boolean is
    /// expected fails here although its rendering may fit.
    pub fn build_unrendered(
        &self,
        params: &Params,
        defaults: &Params,
    ) -> Result<BuiltOperator, ParamError> {
        (self.builder)(params, defaults, false)
    }

    /// Checks the unrendered parameters as `airtask validate` does: builds the operator from
    /// them and drops it. A template passes wherever its rendering may fit: an error about a
    /// parameter that holds a template (or, for an error that names no parameter, when any
    /// does) is left to the try, which sees the rendered value. Unknown parameters are always
    /// errors.
    ///
    /// # Errors
    /// A parameter that is missing, of the wrong type, unknown or not allowed.
    pub fn check(&self, params: &Params) -> Result<(), ParamError> {
        self.check_with_defaults(params, &Params::new())
    }

    /// [`Entry::check`] with the task's `default_args` entries (see
    /// [`Entry::build_with_defaults`]).
    ///
    /// # Errors
    /// As [`Entry::check`].
    pub fn check_with_defaults(
        &self,
        params: &Params,
        defaults: &Params,
    ) -> Result<(), ParamError> {
        match (self.builder)(params, defaults, false) {
            Ok(_) => Ok(()),
            Err(e) if e.is_unknown_parameter() => Err(e),
            Err(e) => {
                let templated = match e.param() {
                    Some(p) => params
                        .get(p)
                        .or_else(|| defaults.get(p))
                        .is_some_and(holds_template),
                    None => params.values().chain(defaults.values()).any(holds_template),
                };
                if templated { Ok(()) } else { Err(e) }
            }
        }
    }
}

fn build_typed<T: Operator>(
    params: &Params,
    defaults: &Params,
    rendered: bool,
) -> Result<BuiltOperator, ParamError> {
    build::<T>(params, defaults, rendered).map(BuiltOperator::typed)
}

/// The operators this build of airtask implements, looked up by class path or alias.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    operators: Vec<Entry>,
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
    pub fn lookup(&self, class_path: &str) -> Option<&Entry> {
        self.by_path.get(class_path).map(|&i| &self.operators[i])
    }

    /// Every registered operator, in registration order.
    pub fn operators(&self) -> &[Entry] {
        &self.operators
    }
}

impl RegistryBuilder {
    /// Registers the operator `T` under its class path and aliases.
    ///
    /// # Panics
    /// When a class path is registered twice: that is a programming error in the wiring of
    /// `runtime`, caught by its tests.
    #[must_use]
    pub fn register<T: Operator>(self) -> Self {
        self.add(Entry {
            spec: T::SPEC,
            builder: build_typed::<T>,
        })
    }

    fn add(mut self, entry: Entry) -> Self {
        let index = self.registry.operators.len();
        let spec = entry.spec;
        for path in std::iter::once(spec.class_path).chain(spec.aliases.iter().copied()) {
            let previous = self.registry.by_path.insert(path, index);
            assert!(
                previous.is_none(),
                "operator class path {path} registered twice"
            );
        }
        self.registry.operators.push(entry);
        self
    }

    /// Finishes the registry.
    pub fn build(self) -> Registry {
        self.registry
    }
}

impl OperatorCatalog for Registry {
    fn resolve(&self, class_path: &str) -> Option<&str> {
        self.lookup(class_path).map(|o| o.spec.class_path)
    }

    fn implemented(&self) -> Vec<&str> {
        self.operators.iter().map(|o| o.spec.class_path).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, ParamReader, TaskContext, TaskError};

    struct A {
        n: Option<u32>,
    }

    impl Operator for A {
        const SPEC: OperatorSpec = OperatorSpec {
            class_path: "pkg.new.A",
            aliases: &["pkg.old.A"],
            template_fields: &["n"],
            calls_aws: false,
        };

        fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
            let n = p.u32("n", 1..=9)?;
            if let Some(s) = p.str("s")?
                && s != "ok"
            {
                return Err(format!("A: s must be ok, not {s}").into());
            }
            Ok(A { n })
        }

        async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
            ctx.info("ran");
            Ok(Outcome::Success(self.n.map(serde_json::Value::from)))
        }
    }

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn aliases_resolve_to_the_canonical_path() {
        let r = Registry::builder().register::<A>().build();
        assert_eq!(r.resolve("pkg.old.A"), Some("pkg.new.A"));
        assert_eq!(r.resolve("pkg.new.A"), Some("pkg.new.A"));
        assert_eq!(r.resolve("pkg.new.B"), None);
        assert_eq!(r.implemented(), vec!["pkg.new.A"]);
        assert_eq!(r.lookup("pkg.old.A").unwrap().spec().template_fields, ["n"]);
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn double_registration_is_a_bug() {
        let _ = Registry::builder().register::<A>().register::<A>().build();
    }

    #[tokio::test]
    async fn builds_refuses_unknown_parameters_and_runs() {
        let r = Registry::builder().register::<A>().build();
        let entry = r.lookup("pkg.new.A").unwrap();
        let e = entry
            .build(&params(serde_json::json!({"n": 3, "m": 1})))
            .unwrap_err();
        assert_eq!(e.param(), Some("m"));
        assert!(
            e.message()
                .starts_with("A has no parameter `m`; it takes n"),
            "{e}"
        );
        let e = entry
            .build(&params(serde_json::json!({"n": 10})))
            .unwrap_err();
        assert_eq!(e.param(), Some("n"));
        assert!(e.message().contains("from 1 to 9"), "{e}");
        // Unrendered, a template passes where a number is expected; rendered, it does not.
        let templated = params(serde_json::json!({"n": "{{ params.n }}"}));
        assert!(entry.check(&templated).is_ok());
        assert!(entry.build(&templated).is_err());
        // A template does not excuse an unknown parameter, nor a wrong literal.
        let e = entry
            .check(&params(serde_json::json!({"n": 2, "m": "{{ ds }}"})))
            .unwrap_err();
        assert!(e.is_unknown_parameter() && e.param() == Some("m"), "{e}");
        assert!(entry.check(&params(serde_json::json!({"n": 0}))).is_err());
        // An operator's own check that names no parameter passes when a template might be
        // the cause, and fails when none is.
        assert!(
            entry
                .check(&params(serde_json::json!({"s": "{{ ds }}"})))
                .is_ok()
        );
        let e = entry
            .check(&params(serde_json::json!({"s": "no"})))
            .unwrap_err();
        assert_eq!(e.message(), "A: s must be ok, not no");

        struct Lines(std::sync::Mutex<Vec<String>>);
        impl crate::LogSink for Lines {
            fn line(&self, _: crate::Level, logger: &str, message: &str) {
                self.0.lock().unwrap().push(format!("{logger}: {message}"));
            }
        }
        let lines = std::sync::Arc::new(Lines(Default::default()));
        let ctx = TaskContext::new(entry.spec(), "t", 1, lines.clone());
        let mut op = entry.build(&params(serde_json::json!({"n": 3}))).unwrap();
        assert_eq!(
            op.execute(&ctx).await,
            Ok(Outcome::Success(Some(serde_json::json!(3))))
        );
        op.on_kill(&ctx).await;
        assert_eq!(
            *lines.0.lock().unwrap(),
            ["airflow.task.operators.pkg.new.A: ran"]
        );
    }
}
