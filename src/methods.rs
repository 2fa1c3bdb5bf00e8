//! The methods this server serves, derived once from the descriptor sets
//! compiled into the binary (the users APIs', health's and reflection's), so
//! a new RPC in a `.proto` file is named, traced and counted without a
//! hand-kept list to update. Layers and telemetry both read it from here.
use std::{ops::Range, sync::LazyLock};

use prost::Message as _;
use prost_types::{FileDescriptorSet, MethodDescriptorProto};

mod codes;
#[cfg(test)]
mod tests;

pub(crate) use codes::grpc_status;
pub use codes::{ALL_CODES, code_name, status_code};

/// The encoded descriptor set of every served API.
const SOURCES: [Source; 4] = [
    Source::api(crate::proto::FILE_DESCRIPTOR_SET),
    Source::infrastructure(tonic_health::pb::FILE_DESCRIPTOR_SET),
    Source::infrastructure(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET),
    Source::infrastructure(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET),
];

/// An encoded `FileDescriptorSet` and whether its services are
/// infrastructure (health and reflection: not traced by default).
#[derive(Debug, Clone, Copy)]
struct Source {
    encoded: &'static [u8],
    infrastructure: bool,
}

impl Source {
    const fn api(encoded: &'static [u8]) -> Self {
        Self {
            encoded,
            infrastructure: false,
        }
    }

    const fn infrastructure(encoded: &'static [u8]) -> Self {
        Self {
            encoded,
            infrastructure: true,
        }
    }
}

/// The service and method names of the stand-in for unserved paths.
const UNKNOWN: &str = "unknown";

/// The call shapes, named as Prometheus gRPC dashboards name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcType {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStream,
    /// A stream of requests, one response.
    ClientStream,
    /// Streams both ways.
    BidiStream,
}

impl GrpcType {
    /// The `grpc_type` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unary => "unary",
            Self::ServerStream => "server_stream",
            Self::ClientStream => "client_stream",
            Self::BidiStream => "bidi_stream",
        }
    }

    fn of(client_streaming: bool, server_streaming: bool) -> Self {
        match (client_streaming, server_streaming) {
            (false, false) => Self::Unary,
            (false, true) => Self::ServerStream,
            (true, false) => Self::ClientStream,
            (true, true) => Self::BidiStream,
        }
    }
}

/// A method this server serves, or the one stand-in for every other path.
#[derive(Debug, PartialEq, Eq)]
pub struct Method {
    /// Its position in [`table`], so per-method state can live in arrays.
    pub index: usize,
    /// The service's full name, `package.Service`.
    pub service: &'static str,
    /// The method's name.
    pub method: &'static str,
    /// `service/method`, the name of its calls' spans.
    pub path_name: &'static str,
    /// The shape of its calls.
    pub grpc_type: GrpcType,
}

impl Method {
    /// False for the stand-in for unserved paths.
    pub fn is_served(&self) -> bool {
        self.index < TABLE.methods.len() - 1
    }
}

/// Every method of every service in the descriptor sets, grouped by service
/// in [`SOURCES`] order, then the stand-in for unserved paths. Metrics label
/// only these, so random paths from clients cannot blow up label cardinality.
pub fn table() -> &'static [Method] {
    &TABLE.methods
}

/// The stand-in for every path outside the table (the last entry).
pub fn unknown() -> &'static Method {
    &TABLE.methods[TABLE.methods.len() - 1]
}

static TABLE: LazyLock<Table> = LazyLock::new(|| Table::from_sources(&SOURCES));

/// The methods, and per service where its methods are: lookups match the
/// service first, then only its methods.
#[derive(Debug)]
struct Table {
    methods: Vec<Method>,
    services: Vec<Service>,
}

#[derive(Debug)]
struct Service {
    name: &'static str,
    infrastructure: bool,
    /// Its methods' positions in `Table::methods`.
    methods: Range<usize>,
}

impl Table {
    fn from_sources(sources: &[Source]) -> Self {
        let mut table = Self {
            methods: Vec::new(),
            services: Vec::new(),
        };
        for source in sources {
            let set = FileDescriptorSet::decode(source.encoded)
                .expect("a descriptor set compiled into the binary decodes");
            for file in &set.file {
                for service in &file.service {
                    let name = match file.package() {
                        "" => service.name().to_owned(),
                        package => format!("{package}.{}", service.name()),
                    };
                    table.add_service(&name, source.infrastructure, &service.method);
                }
            }
        }
        table.push(UNKNOWN, UNKNOWN, UNKNOWN, GrpcType::Unary);
        table
    }

    /// Appends a service's methods. Their names live as long as the
    /// process, like the table: each path is leaked once (a few dozen bytes
    /// per method), and its service and method parts borrow from it.
    fn add_service(&mut self, name: &str, infrastructure: bool, methods: &[MethodDescriptorProto]) {
        // A file in two sets (a shared import) describes the same service.
        if methods.is_empty() || self.service(name).is_some() {
            return;
        }
        let first = self.methods.len();
        for method in methods {
            let path_name: &'static str =
                Box::leak(format!("{name}/{}", method.name()).into_boxed_str());
            let grpc_type = GrpcType::of(method.client_streaming(), method.server_streaming());
            self.push(
                &path_name[..name.len()],
                &path_name[name.len() + 1..],
                path_name,
                grpc_type,
            );
        }
        self.services.push(Service {
            name: self.methods[first].service,
            infrastructure,
            methods: first..self.methods.len(),
        });
    }

    fn push(
        &mut self,
        service: &'static str,
        method: &'static str,
        path_name: &'static str,
        grpc_type: GrpcType,
    ) {
        self.methods.push(Method {
            index: self.methods.len(),
            service,
            method,
            path_name,
            grpc_type,
        });
    }

    fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|service| service.name == name)
    }
}

/// A request path split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcPath<'a> {
    /// The service's full name, `package.Service`.
    pub service: &'a str,
    /// The method's name (empty when the path has none).
    pub method: &'a str,
}

impl<'a> RpcPath<'a> {
    /// `/user.Users/ListUser` → `user.Users`, `ListUser`.
    pub fn parse(path: &'a str) -> Self {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let (service, method) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        Self { service, method }
    }

    /// Health and reflection: infrastructure, not traced by default.
    pub fn is_infrastructure(&self) -> bool {
        TABLE
            .service(self.service)
            .is_some_and(|service| service.infrastructure)
    }

    /// The table entry for this path ([`unknown`] when not served). Matches
    /// the service, then its methods; allocates nothing.
    pub fn known(&self) -> &'static Method {
        let table = &*TABLE;
        table
            .service(self.service)
            .and_then(|service| {
                table.methods[service.methods.clone()]
                    .iter()
                    .find(|entry| entry.method == self.method)
            })
            .unwrap_or_else(unknown)
    }
}
