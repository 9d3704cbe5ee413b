//! The deploy kit (`deploy/`) parses, and every setting it uses exists: each
//! `TRACEHOUSE_*` variable is one that `tracehouse` reads, and each role it
//! names is a role.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use clap::{Args, ValueEnum};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tracehouse::{Role, ServeArgs};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy_dir().join(path))
        .unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Every variable `tracehouse serve` and `tracehouse demo` read, and the log filter.
fn known_variables() -> BTreeSet<String> {
    let command = ServeArgs::augment_args(clap::Command::new("serve"));
    let mut known: BTreeSet<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .filter_map(|env| env.to_str().map(str::to_owned))
        .collect();
    known.extend([
        "TRACEHOUSE_LOG".to_owned(),
        "TRACEHOUSE_DEMO_TARGET".to_owned(),
    ]);
    known
}

/// `TRACEHOUSE_*` names in a text, with the value after `=`, `: ` or `value: ` when there is one.
fn variables_in(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("TRACEHOUSE_") {
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let rest = text[start + name.len()..].trim_start_matches(['=', ':', ',', ' ', '"']);
        let rest = rest
            .strip_prefix("value:")
            .unwrap_or(rest)
            .trim_start_matches([' ', '"']);
        let value: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '}' | ','))
            .collect();
        found.push((name, value));
    }
    found
}

const FILES: [&str; 5] = [
    "docker/Dockerfile",
    "docker/docker-compose.yml",
    "docker/cluster-compose.yml",
    "kubernetes/tracehouse.yaml",
    "systemd/tracehouse.service",
];

#[test]
fn every_variable_and_role_in_the_deploy_kit_exists() {
    let known = known_variables();
    let mut roles = BTreeSet::new();
    for file in FILES {
        let variables = variables_in(&read(file));
        assert!(!variables.is_empty(), "{file} sets no TRACEHOUSE_ variable");
        for (name, value) in variables {
            assert!(known.contains(&name), "{file}: tracehouse reads no {name}");
            if name == "TRACEHOUSE_ROLES" {
                for role in value.split(',') {
                    assert!(
                        Role::from_str(role, false).is_ok(),
                        "{file}: no role {role:?}"
                    );
                    roles.insert(role.to_owned());
                }
            }
        }
    }
    assert!(
        roles.contains("collector") && roles.contains("query"),
        "{roles:?}"
    );
}

#[test]
fn the_yaml_files_parse_into_what_their_tools_expect() {
    let compose: yaml_serde::Value =
        yaml_serde::from_str(&read("docker/docker-compose.yml")).expect("compose parses");
    for service in ["clickhouse", "tracehouse"] {
        assert!(
            compose["services"][service].is_mapping(),
            "compose service {service}"
        );
        assert!(
            compose["services"][service]["healthcheck"]["test"].is_sequence(),
            "{service} healthcheck"
        );
    }
    assert_eq!(
        compose["services"]["tracehouse"]["build"]["dockerfile"].as_str(),
        Some("deploy/docker/Dockerfile")
    );
    let cluster: yaml_serde::Value =
        yaml_serde::from_str(&read("docker/cluster-compose.yml")).expect("cluster compose parses");
    for service in [
        "keeper",
        "clickhouse-1",
        "clickhouse-2",
        "collector-1",
        "collector-2",
        "query",
        "alerts",
    ] {
        assert!(
            cluster["services"][service].is_mapping(),
            "cluster compose service {service}"
        );
    }
    for file in ["keeper.xml", "cluster.xml", "macros-1.xml", "macros-2.xml"] {
        let text = read(&format!("docker/cluster/{file}"));
        assert!(
            text.contains("<clickhouse>") && text.trim_end().ends_with("</clickhouse>"),
            "{file}"
        );
    }
    let manifests = read("kubernetes/tracehouse.yaml");
    let mut kinds = Vec::new();
    for document in yaml_serde::Deserializer::from_str(&manifests) {
        let value = yaml_serde::Value::deserialize(document).expect("manifest parses");
        assert!(value["apiVersion"].is_string(), "{value:?}");
        assert!(value["metadata"]["name"].is_string(), "{value:?}");
        let kind = value["kind"].as_str().expect("kind").to_owned();
        if kind == "Deployment" {
            let labels = &value["spec"]["selector"]["matchLabels"];
            assert_eq!(
                &value["spec"]["template"]["metadata"]["labels"], labels,
                "selector matches the pods"
            );
        }
        kinds.push(kind);
    }
    assert_eq!(
        kinds.iter().filter(|kind| *kind == "Deployment").count(),
        3,
        "{kinds:?}"
    );
}

#[test]
fn the_dockerfile_and_unit_run_tracehouse_serve_unprivileged() {
    let dockerfile = read("docker/Dockerfile");
    assert_eq!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")),
        2,
        "two stages"
    );
    assert!(dockerfile.contains("\nUSER tracehouse\n"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["tracehouse", "serve"]"#));
    let unit = read("systemd/tracehouse.service");
    for section in ["[Unit]", "[Service]", "[Install]"] {
        assert!(unit.contains(section), "{section}");
    }
    assert!(unit.contains("\nUser=tracehouse\n"));
    assert!(unit.contains("ExecStart=/usr/local/bin/tracehouse serve\n"));
}

use serde::Deserialize;
