//! Reconciliation of the signal set: digest pages on a Trickle timer, pulls
//! of what a neighbour's page shows this node lacks, and the answers (see
//! the parent module's docs, "Propagation").

use super::*;

impl SignalEngine {
    /// The digest set: live signals but queries, by id prefix.
    pub(super) fn digest_set(&self, mesh: Instant) -> Vec<(u32, SignalId)> {
        let mut set: Vec<(u32, SignalId)> = self
            .book
            .live(mesh)
            .filter(|(_, h)| h.repr.signal_type() != SignalType::Query)
            .map(|(id, _)| (id.0 as u32, id))
            .collect();
        // Declined demand counts as held: neighbours that hold it agree
        // with us, and we do not pull it back.
        set.extend(
            self.declined
                .iter()
                .filter(|(_, d)| d.expires > mesh && d.ty != SignalType::Query)
                .map(|(id, _)| (id.0 as u32, *id)),
        );
        set.sort();
        set.dedup();
        set
    }

    pub(super) fn fingerprint(set: &[(u32, SignalId)]) -> u64 {
        let mut h = blake3::Hasher::new();
        for (_, id) in set {
            h.update(&id.0.to_le_bytes());
        }
        u64::from_le_bytes(*h.finalize().as_bytes().first_chunk().expect("32 bytes"))
    }

    pub(super) fn send_digest(&mut self, now: Instant) {
        let set = self.digest_set(self.mesh(now));
        if set.is_empty() {
            return; // nothing to offer; pulls start from others' digests
        }
        let pages = set.len().div_ceil(DIGEST_PAGE);
        let page = self.page % pages;
        self.page = self.page.wrapping_add(1);
        let chunk = set.chunks(DIGEST_PAGE).nth(page).unwrap_or(&[]);
        let lo = if page == 0 { 0 } else { chunk[0].0 };
        let hi = set
            .get((page + 1) * DIGEST_PAGE)
            .map_or(u32::MAX, |(p, _)| p.saturating_sub(1));
        let frame = SignalFrame::Digest {
            fingerprint: Self::fingerprint(&set),
            count: set.len().min(usize::from(u16::MAX)) as u16,
            lo,
            hi: hi.max(lo),
            ids: chunk.iter().map(|(p, _)| *p).collect(),
        };
        self.schedule_own(now, frame.encode());
        self.book.stats_mut().digests_sent += 1;
    }

    pub(super) fn on_digest(
        &mut self,
        now: Instant,
        from: NodeId,
        fingerprint: u64,
        lo: u32,
        hi: u32,
        ids: &[u32],
    ) {
        let set = self.digest_set(self.mesh(now));
        if Self::fingerprint(&set) == fingerprint {
            self.trickle.hear_consistent();
            return;
        }
        let mine: BTreeSet<u32> = set
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| (lo..=hi).contains(p))
            .collect();
        let theirs: BTreeSet<u32> = ids.iter().copied().collect();
        // The page agrees: as good as a consistent digest (in a big mesh
        // whole sets rarely agree while announcements spread, and
        // resetting on every differing fingerprint floods the channel).
        if mine == theirs {
            self.trickle.hear_consistent();
            return;
        }
        self.trickle.hear_inconsistent(now, &mut self.rng);
        let want: Vec<u32> = theirs
            .difference(&mine)
            .copied()
            .filter(|p| {
                self.pulled
                    .get(p)
                    .is_none_or(|t| now.saturating_since(*t) >= PULL_BACKOFF)
            })
            .take(MAX_PULLS_PER_FRAME)
            .collect();
        if let Some(extra) = mine.difference(&theirs).next() {
            // Show them our page with what they lack next.
            if let Some(at) = set.iter().position(|(p, _)| p == extra) {
                self.page = at / DIGEST_PAGE;
            }
        }
        if want.is_empty() {
            return;
        }
        for p in &want {
            self.pulled.insert(*p, now);
        }
        let frame = SignalFrame::Pull {
            target: from,
            ids: want,
        };
        self.book.stats_mut().pulls_sent += 1;
        let delay = self.jitter();
        let out = OutFrame {
            dest: Destination::Node(from),
            hop_limit: 0,
            priority: Priority::Background,
            payload: frame.encode(),
        };
        self.schedule(now + delay, None, out, Priority::Background, false);
    }

    pub(super) fn serve(&mut self, now: Instant, prefixes: &[u32]) {
        let mesh = self.mesh(now);
        let mut found: Vec<(SignalId, Vec<u8>, Priority)> = self
            .book
            .live(mesh)
            .filter(|(id, _)| prefixes.contains(&(id.0 as u32)))
            .map(|(id, h)| (id, h.bytes.clone(), priority(&h.repr)))
            .collect();
        // Declined demand is in our digest pages: a neighbour that lacks
        // it may pull it (and takes it only if it, or the mesh behind it,
        // wants it).
        found.extend(
            self.declined
                .iter()
                .filter(|(id, d)| d.expires > mesh && prefixes.contains(&(id.0 as u32)))
                .map(|(id, d)| (*id, d.bytes.clone(), Priority::Background)),
        );
        for (id, bytes, prio) in found {
            if self
                .served
                .get(&id)
                .is_some_and(|t| now.saturating_since(*t) < SERVE_BACKOFF)
            {
                continue;
            }
            self.served.insert(id, now);
            self.book.stats_mut().served += 1;
            let delay = Duration::from_micros(self.rng.below(1_000_000));
            self.schedule(
                now + delay,
                Some(id),
                signal_frame(0, &bytes),
                prio.min(Priority::Background),
                false,
            );
        }
    }
}
