//! The Amazon provider's EventBridge operators: `EventBridgePutEventsOperator` (PutEvents; a
//! failed entry fails the task; XCom is the event ids), `EventBridgePutRuleOperator` (PutRule;
//! XCom is the answer with the RuleArn), `EventBridgeEnableRuleOperator` and
//! `EventBridgeDisableRuleOperator`, with the provider's parameters, template fields and XCom
//! values. See docs/operators/eventbridge.md for where airtask departs from the provider on
//! purpose.

mod events;
mod rules;

use airtask_core::RegistryBuilder;

pub use events::EventBridgePutEventsOperator;
pub use rules::{
    EventBridgeDisableRuleOperator, EventBridgeEnableRuleOperator, EventBridgePutRuleOperator,
};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<EventBridgePutEventsOperator>()
        .register::<EventBridgePutRuleOperator>()
        .register::<EventBridgeEnableRuleOperator>()
        .register::<EventBridgeDisableRuleOperator>()
}
