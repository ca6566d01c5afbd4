//! Stored catalogue items read back for matching: the store's
//! [`StoredItem`]s turned into the manifests and facilities that
//! [`catalogue::ranked`] ranks. Reading back is [`catalogue::entry`]'s (in
//! the format kept with each item); this module only walks the store's
//! items and notes the ones that did not read back as themselves.

use catalogue::ParseError;
use catalogue::entry::{read_facility, read_manifest, stored_note};
use catalogue::okw::Facility;
use catalogue::ranked::Designs;
use catalogue::taxonomy::Taxonomy;
use node_core::store::StoredItem;

/// A reader of one stored item: [`read_manifest`] or [`read_facility`].
type ReadBack<T> = fn(
    catalogue::ItemId,
    catalogue::ContentId,
    &str,
    catalogue::Format,
    &[u8],
) -> Result<(T, bool), ParseError>;

/// Reads every item back with `read`: what parsed, and a note for each
/// item that did not parse or parsed to another identity (used as parsed).
fn read_all<'a, T>(
    items: impl IntoIterator<Item = &'a StoredItem>,
    read: ReadBack<T>,
    set_id: fn(&mut T, catalogue::ItemId),
    what: &str,
) -> (Vec<T>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    // A retired design (a signed tombstone) has no document to read.
    for item in items.into_iter().filter(|i| !i.is_tombstone()) {
        // The document's own id: the store keys signed items by the id
        // their publisher's key owns.
        let (id, name) = (item.catalogue_id(), item.name.as_str());
        match read(id, item.stamp.content, name, item.format, &item.bytes) {
            Ok((mut parsed, exact)) => {
                if !exact {
                    notes.push(stored_note(id, name, what));
                }
                // Named as the mesh names it: the id its key owns.
                set_id(&mut parsed, item.id);
                out.push(parsed);
            }
            Err(e) => notes.push(e.to_string()),
        }
    }
    (out, notes)
}

/// The stored manifests `items`, each read back with [`read_manifest`]; an
/// item that does not parse is listed in `skipped`, one that parses to
/// another identity is used and noted there.
pub fn designs_from_stored<'a>(
    items: impl IntoIterator<Item = &'a StoredItem>,
    tax: &Taxonomy,
) -> Designs {
    let (manifests, skipped) = read_all(items, read_manifest, |m, id| m.item_id = id, "manifest");
    let mut d = Designs {
        skipped,
        ..Designs::default()
    };
    for m in manifests {
        d.push(m, tax);
    }
    d
}

/// The stored facilities `items`, read back with [`read_facility`], with a
/// note for each item that could not be used as itself.
pub fn facilities_from_stored<'a>(
    items: impl IntoIterator<Item = &'a StoredItem>,
) -> (Vec<Facility>, Vec<String>) {
    read_all(items, read_facility, |f, id| f.item_id = id, "facility")
}
