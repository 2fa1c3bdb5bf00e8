//! gRPC reflection, v1 and v1alpha, describing every service this server runs.
use tonic::service::RoutesBuilder;
use tonic_reflection::server::{Builder, Error};

use crate::proto;

/// The descriptor sets of every service served, reflection itself included,
/// so both reflection versions list the same, complete set.
fn builder() -> Builder<'static> {
    Builder::configure()
        .include_reflection_service(false)
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
}

/// Adds both reflection services to `routes`.
pub(crate) fn add_reflection(routes: &mut RoutesBuilder) -> Result<(), Error> {
    routes.add_service(builder().build_v1()?);
    routes.add_service(builder().build_v1alpha()?);
    Ok(())
}
