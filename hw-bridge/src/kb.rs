//! Stored catalogue items read back for matching: the store's
//! [`StoredItem`]s turned into the manifests and facilities that
//! [`catalogue::ranked`] ranks. Reading back is [`catalogue::entry`]'s (in
//! the format kept with each item); this module only walks the store's
//! items and notes the ones that did not read back as themselves.

use catalogue::entry::{read_facility, read_manifest, stored_note};
use catalogue::okw::Facility;
use catalogue::ranked::Designs;
use catalogue::taxonomy::Taxonomy;
use node_core::store::StoredItem;

/// The stored manifests `items`, each read back with [`read_manifest`]; an
/// item that does not parse is listed in `skipped`, one that parses to
/// another identity is used and noted.
pub fn designs_from_stored<'a>(
    items: impl IntoIterator<Item = &'a StoredItem>,
    tax: &Taxonomy,
) -> Designs {
    let mut d = Designs::default();
    for item in items {
        let read = read_manifest(
            item.id,
            item.stamp.content,
            &item.name,
            item.format,
            &item.bytes,
        );
        match read {
            Ok((m, exact)) => {
                if !exact {
                    d.skipped.push(stored_note(item.id, &item.name, "manifest"));
                }
                d.push(m, tax);
            }
            Err(e) => d.skipped.push(e.to_string()),
        }
    }
    d
}

/// The stored facilities `items`, read back with [`read_facility`], with a
/// note for each item that could not be used as itself.
pub fn facilities_from_stored<'a>(
    items: impl IntoIterator<Item = &'a StoredItem>,
) -> (Vec<Facility>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for item in items {
        let read = read_facility(
            item.id,
            item.stamp.content,
            &item.name,
            item.format,
            &item.bytes,
        );
        match read {
            Ok((f, exact)) => {
                if !exact {
                    notes.push(stored_note(item.id, &item.name, "facility"));
                }
                out.push(f);
            }
            Err(e) => notes.push(e.to_string()),
        }
    }
    (out, notes)
}
