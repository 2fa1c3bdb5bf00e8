//! gRPC reflection, v1 and v1alpha, describing every service this server runs.
use tonic::service::RoutesBuilder;
use tonic_reflection::server::{Builder, Error};

use crate::{proto, settings::LimitsSettings};

/// The descriptor sets of every service served, reflection itself included,
/// so both reflection versions list the same, complete set; and of the error
/// details every error carries (`google.rpc.ErrorInfo`, `BadRequest`,
/// `RequestInfo`), so clients such as grpcurl can print them.
fn builder() -> Builder<'static> {
    Builder::configure()
        .include_reflection_service(false)
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
}

/// Adds both reflection services to `routes`, with the message size limits.
pub(crate) fn add_reflection(
    routes: &mut RoutesBuilder,
    limits: &LimitsSettings,
) -> Result<(), Error> {
    routes.add_service(
        builder()
            .build_v1()?
            .max_decoding_message_size(limits.decoding_limit())
            .max_encoding_message_size(limits.encoding_limit()),
    );
    routes.add_service(
        builder()
            .build_v1alpha()?
            .max_decoding_message_size(limits.decoding_limit())
            .max_encoding_message_size(limits.encoding_limit()),
    );
    Ok(())
}
