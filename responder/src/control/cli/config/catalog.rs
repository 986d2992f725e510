//! `[[zone]]`'s `catalog-role` and `catalog-template`, and the
//! `[[template]]`s they name, as Knot spells them: a catalog is a secondary
//! zone (it needs `master`), and its members get the settings of the
//! template their `group` names, else of the first listed, else the
//! catalog's own primaries and storage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::schema::ZoneEntry;
use super::settings::Origin;
use crate::access::{Access, AddressRange};
use crate::transfer::catalog::{CatalogConfig, MemberTemplate};
use crate::transfer::inbound::Primary;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TemplateEntry {
    pub id: Spanned<String>,
    /// Where members pull from; absent: the catalog's own `master`.
    pub master: Option<Spanned<Vec<Spanned<String>>>>,
    /// Where members keep their copies; absent: [server] `storage`, else
    /// the catalog copy's directory.
    pub storage: Option<Spanned<PathBuf>>,
}

/// Every `[[template]]`, references checked. A template without `master`
/// has no primaries yet, nor without `storage` a directory: the catalog
/// that uses it fills them in.
pub fn templates(
    entries: &[Spanned<TemplateEntry>],
    access: Option<&Access>,
    storage: Option<&Path>,
    origin: &Origin,
) -> Result<Vec<MemberTemplate>, String> {
    let mut out: Vec<MemberTemplate> = Vec::new();
    for entry in entries {
        let t = entry.get_ref();
        let id = t.id.get_ref();
        if out.iter().any(|seen| seen.id.as_deref() == Some(id)) {
            return origin.error(t.id.span(), format!("template {id:?} is defined twice"));
        }
        let primaries = match &t.master {
            Some(master) if master.get_ref().is_empty() => {
                return origin.error(master.span(), "`master` lists no primary")
            }
            Some(master) => super::secondary::primaries(master.get_ref(), access, origin)?,
            None => Vec::new(),
        };
        let storage = match (&t.storage, storage) {
            (Some(dir), _) => origin.path(dir, "storage")?,
            (None, Some(dir)) => dir.to_path_buf(),
            (None, None) => PathBuf::new(),
        };
        out.push(MemberTemplate {
            id: Some(id.clone()),
            primaries,
            notify_from: super::secondary::notify_from(access),
            storage,
        });
    }
    Ok(out)
}

/// A zone without `master` cannot be a catalog here: we only consume them.
pub fn refuse_without_master(entry: &ZoneEntry, span: std::ops::Range<usize>, origin: &Origin) -> Result<(), String> {
    if let Some(role) = &entry.catalog_role {
        if role.get_ref() == "interpret" {
            return origin.error(
                span,
                "a catalog (catalog-role = \"interpret\") needs `master`: it is transferred from a primary",
            );
        }
        role_of(role, origin)?;
    }
    if let Some(t) = &entry.catalog_template {
        return origin.error(t.span(), "`catalog-template` needs catalog-role = \"interpret\" (and `master`)");
    }
    Ok(())
}

/// The catalog settings of a secondary zone, `None` when it is no catalog.
pub fn catalog(
    entry: &ZoneEntry,
    primaries: &[Primary],
    notify_from: &[AddressRange],
    file: &Path,
    storage: Option<&Path>,
    templates: &[MemberTemplate],
    origin: &Origin,
) -> Result<Option<Arc<CatalogConfig>>, String> {
    let interpret = match &entry.catalog_role {
        Some(role) => role_of(role, origin)?,
        None => false,
    };
    if !interpret {
        if let Some(t) = &entry.catalog_template {
            return origin.error(t.span(), "`catalog-template` needs catalog-role = \"interpret\"");
        }
        return Ok(None);
    }
    // Members' copies: beside the catalog's own, unless told otherwise.
    let own_storage =
        storage.map(Path::to_path_buf).unwrap_or_else(|| file.parent().map(Path::to_path_buf).unwrap_or_default());
    let fill = |mut t: MemberTemplate| {
        if t.primaries.is_empty() {
            t.primaries = primaries.to_vec();
        }
        if t.storage.as_os_str().is_empty() {
            t.storage = own_storage.clone();
        }
        t
    };
    let mut chosen = Vec::new();
    for id in entry.catalog_template.iter().flat_map(|list| list.get_ref()) {
        match templates.iter().find(|t| t.id.as_deref() == Some(id.get_ref().as_str())) {
            Some(t) => chosen.push(fill(t.clone())),
            None => {
                return origin.error(id.span(), format!("template {:?} is not defined ([[template]] id)", id.get_ref()))
            }
        }
    }
    if chosen.is_empty() {
        chosen.push(MemberTemplate {
            id: None,
            primaries: primaries.to_vec(),
            notify_from: notify_from.to_vec(),
            storage: own_storage,
        });
    }
    Ok(Some(Arc::new(CatalogConfig { templates: chosen })))
}

/// `true` for `"interpret"`, `false` for `"none"`.
fn role_of(role: &Spanned<String>, origin: &Origin) -> Result<bool, String> {
    match role.get_ref().as_str() {
        "interpret" => Ok(true),
        "none" => Ok(false),
        other @ ("generate" | "member") => origin.error(
            role.span(),
            format!("catalog-role {other:?} is not supported: responder consumes catalogs (\"interpret\") only"),
        ),
        other => origin.error(role.span(), format!("catalog-role {other:?}: use \"interpret\" or \"none\"")),
    }
}
