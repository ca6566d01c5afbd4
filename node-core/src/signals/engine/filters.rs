//! Routing by filters: this node's [`TagFilter`], the levels it
//! advertises, the neighbours' it holds, and whether a demand or query is
//! taken or declined (see the parent module's docs, "Routing by filters").

use super::*;

impl SignalEngine {
    /// This node's own filter (capabilities and subscriptions).
    pub fn own_filter(&self) -> &TagFilter {
        &self.own_filter
    }

    /// The levels last advertised (level d: what may be wanted within d
    /// hops of this node).
    pub fn advertised_levels(&self) -> &[TagFilter] {
        &self.advertised
    }

    /// Neighbour filters held.
    pub fn neighbour_filters(&self) -> usize {
        self.neighbours.len()
    }

    /// The levels this node would advertise now: level 0 its own filter,
    /// level d what is wanted within d hops (level d − 1 and every
    /// neighbour's level d − 1); trailing levels that add nothing cut, and
    /// none at all when nothing is wanted.
    pub(super) fn levels(&self) -> Vec<TagFilter> {
        let mut levels = vec![self.own_filter];
        for d in 1..MAX_FILTER_LEVELS {
            let mut u = levels[d - 1];
            for h in self.neighbours.values() {
                u.union(&h.level(d - 1));
            }
            levels.push(u);
        }
        while levels.len() > 1 && levels[levels.len() - 1] == levels[levels.len() - 2] {
            levels.pop();
        }
        if levels == [TagFilter::EMPTY] {
            levels.clear();
        }
        levels
    }

    pub(super) fn on_filter(
        &mut self,
        now: Instant,
        from: NodeId,
        truncated: bool,
        levels: Vec<TagFilter>,
    ) {
        if !self.config.filters || from == self.id {
            return;
        }
        if !self.neighbours.contains_key(&from) && self.neighbours.len() >= MAX_NEIGHBOUR_FILTERS {
            let oldest = self
                .neighbours
                .iter()
                .min_by_key(|(id, h)| (h.at, **id))
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                self.neighbours.remove(&id);
            }
        }
        // Kept even when empty: "nothing wanted behind me" is news (a
        // node that knows it declines what nobody behind it wants).
        self.neighbours.insert(
            from,
            Heard {
                levels,
                truncated,
                at: now,
            },
        );
        self.levels_changed(now);
    }

    /// Schedules an advert if what this node would say changed, no sooner
    /// than [`ADVERT_MIN_GAP`] after the last.
    pub(super) fn levels_changed(&mut self, now: Instant) {
        if self.last_advert.is_some() && self.levels() == self.advertised {
            return;
        }
        let jitter =
            Duration::from_micros(self.rng.below(self.config.relay_jitter.as_micros().max(1)));
        let earliest = self
            .last_advert
            .map_or(now, |t| (t + ADVERT_MIN_GAP).max(now))
            + jitter;
        self.advert_at = Some(self.advert_at.map_or(earliest, |t| t.min(earliest)));
    }

    pub(super) fn send_advert(&mut self, now: Instant) {
        let levels = self.levels();
        self.advert_at = None;
        let heard = !self.neighbours.is_empty();
        if levels.is_empty() && self.advertised.is_empty() && (!heard || self.last_advert.is_some())
        {
            return;
        }
        // An empty level 0: nothing wanted here or behind (the filters are
        // in use, so neighbours decline rather than fall back), or a
        // withdrawal of what was said before.
        let say = if levels.is_empty() {
            vec![TagFilter::EMPTY]
        } else {
            levels.clone()
        };
        let max = crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES;
        if let Some(frame) = SignalFrame::filter_fitting(&say, max) {
            self.schedule_own(now, frame.encode());
            self.book.stats_mut().filters_sent += 1;
        }
        self.last_advert = Some(now);
        if !levels.is_empty() || heard {
            self.advert_at = Some(now + ADVERT_PERIOD);
        }
        self.advertised = levels;
    }

    /// Whether a neighbour other than `from` may want `payload` within
    /// `reach` hops of it; `None` when no neighbour filter is known.
    pub(super) fn wanted_behind(
        &self,
        from: NodeId,
        payload: &Payload,
        reach: usize,
    ) -> Option<bool> {
        if self.neighbours.is_empty() {
            return None;
        }
        Some(
            self.neighbours
                .iter()
                .any(|(id, h)| *id != from && h.level(reach).may_want(payload)),
        )
    }

    /// Routes a demand or query heard for the first time: `true` to take
    /// it, `false` when it was declined (and remembered as such).
    pub(super) fn route(
        &mut self,
        now: Instant,
        from: NodeId,
        hops_left: u8,
        bytes: &[u8],
    ) -> bool {
        let Ok(repr) = SignalBytes::new_checked(bytes).and_then(|b| SignalRepr::parse(&b)) else {
            return true; // the book refuses it and counts why
        };
        let ty = repr.signal_type();
        // Only a verified signal is routed (and counted); the book refuses
        // and counts the others.
        if !matches!(ty, SignalType::Demand | SignalType::Query) || repr.verify().is_err() {
            return true;
        }
        let matches = self.matches(&repr);
        // A relayed signal reaches as far as its relays left; one spread
        // by digest and pull goes on hop by hop.
        let reach = if relays(&repr) {
            hops_left
                .checked_sub(1)
                .map(|r| usize::from(r).min(MAX_FILTER_LEVELS - 1))
        } else {
            Some(MAX_FILTER_LEVELS - 1)
        };
        let behind = match reach {
            Some(r) => self.wanted_behind(from, &repr.payload, r),
            // No relay left: only this node's profile matters (unless no
            // filter is known, the broadcast fallback).
            None => (!self.neighbours.is_empty()).then_some(false),
        };
        let taken = matches || behind.unwrap_or(true);
        if !taken {
            // Only a live signal is remembered as declined; the book
            // refuses and counts the others.
            if check_live(&repr, self.mesh(now)).is_err() {
                return true;
            }
            if self.declined.len() >= self.config.limits.max_signals {
                let soonest = self
                    .declined
                    .iter()
                    .min_by_key(|(id, d)| (d.expires, **id))
                    .map(|(id, _)| *id);
                if let Some(id) = soonest {
                    self.declined.remove(&id);
                }
            }
            let again = self
                .declined
                .insert(
                    repr.id(),
                    Declined {
                        expires: repr.expires(),
                        ty,
                        hops: hops_left,
                        bytes: bytes.to_vec(),
                    },
                )
                .is_some();
            if again {
                return false; // counted and reported the first time
            }
            self.book.stats_mut().declined += 1;
        }
        self.events.push(SignalEvent::Routed {
            id: repr.id(),
            ty,
            filter_match: self.own_filter.may_want(&repr.payload),
            matches,
            taken,
            fallback: behind.is_none(),
        });
        taken
    }
}
