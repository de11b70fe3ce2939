//! The OpenAPI description lists every route the server answers, and nothing else.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeSet;

use ferry::server::ROUTES;
use ferry::syntax::source::SourceFile;
use ferry::syntax::yaml;

#[test]
fn every_route_is_described_and_every_description_is_served() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/openapi.yaml");
    let file = SourceFile::read(path.as_ref()).expect("read openapi.yaml");
    let document = yaml::parse(&file).expect("valid YAML").to_json();
    let mut described = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                described.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let served: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
    assert_eq!(described, served);
}
