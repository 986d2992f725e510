//! The Kubernetes manifests under deploy/kubernetes, read as YAML: the
//! kustomizations name files that exist, the DaemonSet runs the image
//! `cargo xtask image` builds with the capabilities docs/DEPLOY.md lists
//! (not privileged), probes /healthz and /readyz on the metrics listener the
//! config opens, and the config in each ConfigMap passes `responder
//! check-config` with the zones ConfigMap beside it; and every resource
//! (the SR-IOV DaemonSet as its patch makes it) validates against the
//! Kubernetes OpenAPI schemas with `kubernetes-validate --strict` (PyPI,
//! schemas bundled; installed by `cargo xtask deps`: Debian packages no
//! kubeconform or kubectl).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use responder_tests::daemon::run_bounded;
use responder_tests::responder::{binary, workspace_root};
use serde::Deserialize;
use serde_yaml::Value;

fn dir() -> PathBuf {
    workspace_root().join("deploy/kubernetes")
}

/// Every document of a (multi-document) YAML file.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn one(path: &Path) -> Value {
    let mut docs = documents(path);
    assert_eq!(docs.len(), 1, "{}", path.display());
    docs.remove(0)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut at = v;
    for key in path {
        at = &at[*key];
    }
    at.as_str().unwrap_or_else(|| panic!("no string at {path:?}"))
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_sequence().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect()
}

/// The capabilities docs/DEPLOY.md section 5 names for XDP, plus SETUID and
/// SETGID for the drop to `user`.
const CAPABILITIES: [&str; 8] =
    ["NET_ADMIN", "NET_RAW", "BPF", "PERFMON", "IPC_LOCK", "NET_BIND_SERVICE", "SETUID", "SETGID"];

#[test]
fn kustomizations_name_files_that_exist_and_parse() {
    for variant in ["base", "sriov"] {
        let kustomization = one(&dir().join(variant).join("kustomization.yaml"));
        assert_eq!(str_at(&kustomization, &["kind"]), "Kustomization");
        let mut files: Vec<String> = strings(&kustomization["resources"]).into_iter().collect();
        for patch in kustomization["patches"].as_sequence().into_iter().flatten() {
            files.push(str_at(patch, &["path"]).to_owned());
        }
        assert!(!files.is_empty(), "{variant}");
        for file in files {
            let path = dir().join(variant).join(&file);
            if file.starts_with("..") {
                assert!(path.join("kustomization.yaml").is_file(), "{}", path.display());
                continue;
            }
            for doc in documents(&path) {
                assert!(doc["apiVersion"].is_string() && doc["kind"].is_string(), "{}", path.display());
                assert!(doc["metadata"]["name"].is_string(), "{}", path.display());
            }
        }
    }
}

#[test]
fn the_daemonset_runs_the_image_with_the_documented_capabilities_and_probes() {
    let ds = one(&dir().join("base/daemonset.yaml"));
    assert_eq!(str_at(&ds, &["kind"]), "DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"].as_bool(), Some(true));
    let selector = &ds["spec"]["selector"]["matchLabels"];
    assert_eq!(selector, &ds["spec"]["template"]["metadata"]["labels"], "the selector matches the pods");
    let containers = pod["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    // The name `cargo xtask image` tags (xtask/src/image.rs, IMAGE).
    assert_eq!(str_at(c, &["image"]), "localhost/responder:latest");
    let kustomization = one(&dir().join("base/kustomization.yaml"));
    assert_eq!(str_at(&kustomization["images"][0], &["name"]), "localhost/responder");
    assert_eq!(strings(&c["args"]), ["serve", "--config", "/etc/responder/responder.toml"].map(String::from).into());

    let security = &c["securityContext"];
    assert_eq!(security["privileged"].as_bool(), Some(false), "capabilities, not --privileged");
    assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(strings(&security["capabilities"]["drop"]), BTreeSet::from(["ALL".to_owned()]));
    let added = strings(&security["capabilities"]["add"]);
    assert_eq!(added, CAPABILITIES.map(String::from).into(), "docs/DEPLOY.md's set, no more");
    assert!(!added.contains("SYS_ADMIN"));
    let unit = std::fs::read_to_string(workspace_root().join("scripts/responder.service")).unwrap();
    let bounding = unit.lines().find_map(|l| l.strip_prefix("CapabilityBoundingSet=")).unwrap();
    let unit_caps: BTreeSet<String> =
        bounding.split_whitespace().map(|c| c.trim_start_matches("CAP_").to_owned()).collect();
    assert_eq!(added, unit_caps, "the same set as the systemd unit");

    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(str_at(get, &["path"]), path, "{probe}");
        assert_eq!(get["port"].as_u64(), Some(9153), "{probe}: the config's metrics port");
        assert_eq!(str_at(get, &["host"]), "127.0.0.1", "{probe}: hostNetwork, metrics on loopback");
    }
    let config = config_text("base/configmap-config.yaml");
    assert!(config.contains("metrics = \"127.0.0.1:9153\""), "{config}");

    // Every mount names a volume, and the config and zones come from the ConfigMaps.
    let volumes: BTreeSet<String> =
        pod["volumes"].as_sequence().unwrap().iter().map(|v| str_at(v, &["name"]).to_owned()).collect();
    for mount in c["volumeMounts"].as_sequence().unwrap() {
        assert!(volumes.contains(str_at(mount, &["name"])), "{mount:?}");
    }
    let maps: BTreeSet<String> = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v["configMap"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(maps, BTreeSet::from(["responder-config".to_owned(), "responder-zones".to_owned()]));
}

#[test]
fn the_sriov_variant_asks_the_device_plugin_for_the_vf_multus_attaches() {
    let nad = one(&dir().join("sriov/network-attachment.yaml"));
    assert_eq!(str_at(&nad, &["kind"]), "NetworkAttachmentDefinition");
    let resource = str_at(&nad, &["metadata", "annotations", "k8s.v1.cni.cncf.io/resourceName"]);
    let cni: serde_json::Value =
        serde_json::from_str(str_at(&nad, &["spec", "config"])).expect("the CNI config is JSON");
    assert_eq!(cni["type"], "sriov");

    let patch = one(&dir().join("sriov/daemonset-sriov.yaml"));
    let template = &patch["spec"]["template"];
    assert_eq!(
        str_at(template, &["metadata", "annotations", "k8s.v1.cni.cncf.io/networks"]),
        str_at(&nad, &["metadata", "name"])
    );
    assert_eq!(template["spec"]["hostNetwork"].as_bool(), Some(false));
    let c = &template["spec"]["containers"][0];
    assert_eq!(str_at(c, &["name"]), "responder", "the patch merges into the base's container");
    for limit in ["requests", "limits"] {
        assert_eq!(str_at(&c["resources"][limit], &[resource]), "1", "{limit}");
    }
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(str_at(&c[probe]["httpGet"], &["path"]), path);
        assert!(c[probe]["httpGet"]["host"].is_null(), "{probe}: the pod IP, not the node's loopback");
    }
    let config = config_text("sriov/configmap-config-sriov.yaml");
    assert!(config.contains("interface = \"net1\"") && config.contains("metrics = \"0.0.0.0:9153\""), "{config}");
    let address = cni["ipam"]["addresses"][0]["address"].as_str().unwrap();
    let ip = address.split('/').next().unwrap();
    assert!(config.contains(&format!("listen = [\"{ip}:53\"]")), "listens on the VF's address {ip}:\n{config}");
}

fn config_text(file: &str) -> String {
    let map = one(&dir().join(file));
    str_at(&map, &["data", "responder.toml"]).to_owned()
}

/// Lays the ConfigMaps out as the pod mounts them and runs check-config.
fn check(config_file: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("responder.toml");
    std::fs::write(&config, config_text(config_file)).unwrap();
    let zones = one(&dir().join("base/configmap-zones.yaml"));
    std::fs::create_dir(tmp.path().join("zones")).unwrap();
    for (name, text) in zones["data"].as_mapping().unwrap() {
        std::fs::write(tmp.path().join("zones").join(name.as_str().unwrap()), text.as_str().unwrap()).unwrap();
    }
    let bin = binary().unwrap_or_else(|e| panic!("{e}"));
    let out = run_bounded(Command::new(bin).args(["check-config", "--config"]).arg(&config), Duration::from_secs(60))
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("OK, 1 zone(s)"), "{config_file}:\n{said}");
}

#[test]
fn the_configmaps_pass_check_config() {
    check("base/configmap-config.yaml");
    check("sriov/configmap-config-sriov.yaml");
}

/// A strategic merge as kustomize applies `patches` here: maps merged key by
/// key, a null deletes, lists of named items merged by `name`, other lists
/// replaced.
fn strategic_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Mapping(b), Value::Mapping(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(existing) = b.get_mut(k) {
                    strategic_merge(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (Value::Sequence(b), Value::Sequence(p)) if p.iter().all(|v| v.get("name").is_some()) => {
            for item in p {
                match b.iter_mut().find(|x| x.get("name") == item.get("name")) {
                    Some(existing) => strategic_merge(existing, item),
                    None => b.push(item.clone()),
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[test]
fn every_resource_validates_against_the_kubernetes_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let mut daemonset = one(&dir().join("base/daemonset.yaml"));
    strategic_merge(&mut daemonset, &one(&dir().join("sriov/daemonset-sriov.yaml")));
    let sriov_daemonset = tmp.path().join("daemonset-sriov-merged.yaml");
    std::fs::write(&sriov_daemonset, serde_yaml::to_string(&daemonset).unwrap()).unwrap();
    assert_eq!(str_at(&daemonset, &["spec", "template", "spec", "dnsPolicy"]), "ClusterFirst", "the patch applied");
    let mut files: Vec<PathBuf> = ["namespace.yaml", "daemonset.yaml", "configmap-config.yaml", "configmap-zones.yaml"]
        .iter()
        .map(|f| dir().join("base").join(f))
        .collect();
    files.push(dir().join("sriov/configmap-config-sriov.yaml"));
    files.push(sriov_daemonset);
    let out = run_bounded(
        Command::new("kubernetes-validate").args(["--strict", "--kubernetes-version", "1.31.0"]).args(&files),
        Duration::from_secs(120),
    )
    .unwrap_or_else(|e| panic!("kubernetes-validate (cargo xtask deps installs it): {e}"));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert_eq!(said.matches(" passed for resource ").count(), files.len(), "{said}");
}
