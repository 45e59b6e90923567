//! The Amazon provider's EKS operators and sensors: `EksCreateClusterOperator` (with the node
//! group or Fargate profile `compute` asks for), `EksDeleteClusterOperator`
//! (`force_delete_compute`), `EksCreateNodegroupOperator`, `EksDeleteNodegroupOperator`,
//! `EksCreateFargateProfileOperator`, `EksDeleteFargateProfileOperator`,
//! `EksClusterStateSensor`, `EksNodegroupStateSensor`, `EksFargateProfileStateSensor`, and
//! `EksPodOperator`, which runs a pod through the cluster's Kubernetes API with an EKS token
//! (the presigned STS GetCallerIdentity URL `aws eks get-token` makes) and the task's
//! credentials. The provider's parameters, defaults, template fields and waits (boto3's EKS
//! waiters); see docs/operators/eks.md for where airtask departs from the provider on purpose.

mod cluster;
mod common;
mod compute;
mod kwargs;
mod pod;
mod sensors;

use airtask_core::RegistryBuilder;

pub use cluster::{EksCreateClusterOperator, EksDeleteClusterOperator};
pub use compute::{
    EksCreateFargateProfileOperator, EksCreateNodegroupOperator, EksDeleteFargateProfileOperator,
    EksDeleteNodegroupOperator,
};
pub use pod::EksPodOperator;
pub use pod::token::{TOKEN_PREFIX, eks_token};
pub use sensors::{EksClusterStateSensor, EksFargateProfileStateSensor, EksNodegroupStateSensor};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<EksCreateClusterOperator>()
        .register::<EksDeleteClusterOperator>()
        .register::<EksCreateNodegroupOperator>()
        .register::<EksDeleteNodegroupOperator>()
        .register::<EksCreateFargateProfileOperator>()
        .register::<EksDeleteFargateProfileOperator>()
        .register::<EksClusterStateSensor>()
        .register::<EksNodegroupStateSensor>()
        .register::<EksFargateProfileStateSensor>()
        .register::<EksPodOperator>()
}
