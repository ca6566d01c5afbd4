//! What a node does with a signal it hears for the first time or again:
//! verify and take it into the book (or decline it), deliver it, answer a
//! query, count overheard copies, and tell of a lost confirmation race.

use super::*;

impl SignalEngine {
    pub(super) fn take<S: Storage>(
        &mut self,
        now: Instant,
        from: NodeId,
        relay: u8,
        bytes: &[u8],
        store: &mut Store<S>,
    ) {
        let mesh = self.mesh(now);
        let id = crate::signals::signal::id_of(bytes);
        // A declined signal is looked at again only when a copy with more
        // relays left comes (it reaches further: someone may want it now).
        let relays_left = relay & !FLOOD_FLAG;
        if self
            .declined
            .get(&id)
            .is_some_and(|d| d.hops >= relays_left)
        {
            return;
        }
        // Flooded signals are the baseline: never filtered.
        if self.config.filters
            && relay & FLOOD_FLAG == 0
            && !self.book.contains(id)
            && !self.route(now, from, relay, bytes)
        {
            return;
        }
        self.declined.remove(&id);
        let out = match self.book.insert(mesh, bytes) {
            Err(reason) => {
                self.events.push(SignalEvent::Refused { from, reason });
                return;
            }
            Ok(None) => {
                self.overheard(crate::signals::signal::id_of(bytes));
                return;
            }
            Ok(Some(out)) => out,
        };
        // A log failure poisons the store; the next catalogue write reports it.
        let _ = store.put_signal(out.id.0, bytes);
        let removed: Vec<u64> = out.removed.iter().map(|s| s.0).collect();
        let _ = store.drop_signals(&removed);
        let repr = self.book.get(out.id).expect("just taken").repr.clone();
        let ty = repr.signal_type();
        let matches = self.matches(&repr);
        self.events.push(SignalEvent::Taken {
            id: out.id,
            ty,
            from,
            matches,
        });
        // No Trickle reset here: a reset per signal taken, on every node,
        // made digests the bulk of the traffic on `demand` (13,000 of them
        // for 61 signals). Neighbours that lack it learn of it from the
        // digest pages that disagree, which do reset.
        self.copies.entry(out.id).or_default().expires = repr.expires();
        let hops = relay & !FLOOD_FLAG;
        let flood = relay & FLOOD_FLAG != 0;
        if hops > 0 && (flood || relays(&repr)) {
            // Filters leave few carriers, each on some path to a node that
            // wants the signal: they relay it surely (the probability
            // thins out redundant relays, which routing already removed).
            let routed = self.config.filters
                && !self.neighbours.is_empty()
                && matches!(ty, SignalType::Demand | SignalType::Query);
            let p = if flood {
                1.0
            } else if routed {
                ROUTED_P.max(self.config.epidemic_p)
            } else {
                self.config.epidemic_p
            };
            if self.rng.chance(p) {
                let next = (hops - 1) | (relay & FLOOD_FLAG);
                let delay = self.jitter();
                let key = self.schedule(
                    now + delay,
                    Some(out.id),
                    signal_frame(next, bytes),
                    priority(&repr),
                    true,
                );
                if !flood && let Some(c) = self.copies.get_mut(&out.id) {
                    c.pending = key;
                }
            }
        }
        if let Some(c) = out.conflict {
            self.on_conflict(now, c);
        }
        if ty == SignalType::Query && matches && self.answered.insert(out.id) {
            let traveled = self.config.urgent_hops.saturating_sub(hops);
            self.answer(now, traveled.saturating_add(1), store);
        }
        if ty == SignalType::Capability {
            // A reply to one of our queries.
            let tags = repr.payload.tags().to_vec();
            let me = self.key.get().public();
            let answered: Vec<SignalId> = self
                .book
                .of_type(mesh, SignalType::Query)
                .filter(|(_, h)| h.repr.source == me && satisfies(&tags, h.repr.payload.tags()))
                .map(|(id, _)| id)
                .collect();
            for query in answered {
                self.events.push(SignalEvent::Answered {
                    query,
                    local: false,
                    facilities: 1,
                });
            }
        }
    }

    /// Another copy of a held signal: enough of them cancel our relay.
    pub(super) fn overheard(&mut self, id: SignalId) {
        let limit = self.config.suppress_copies;
        let Some(c) = self.copies.get_mut(&id) else {
            return;
        };
        c.heard += 1;
        if limit > 0
            && c.heard >= limit
            && let Some(key) = c.pending.take()
        {
            self.pending.remove(&key);
        }
    }

    /// A facility answers a query: its capability announcement, flooded
    /// back as far as the query came.
    pub(super) fn answer<S: Storage>(&mut self, now: Instant, hops: u8, store: &mut Store<S>) {
        let mesh = self.mesh(now);
        let me = self.key.get().public();
        let held = self
            .book
            .of_type(mesh, SignalType::Capability)
            .find(|(_, h)| h.repr.source == me)
            .map(|(id, h)| (id, h.bytes.clone()));
        let (id, bytes) = match held {
            Some(h) => h,
            None => {
                let draft = Draft {
                    payload: Payload::Capability {
                        tags: self.config.capabilities.clone(),
                    },
                    urgent: false,
                    created: mesh,
                    ttl: Duration::from_secs(24 * 3600),
                };
                let Ok(repr) = SignalRepr::sign(self.key.get(), draft) else {
                    return;
                };
                let bytes = repr.encode();
                let Ok(Some(out)) = self.book.insert(mesh, &bytes) else {
                    return;
                };
                let _ = store.put_signal(out.id.0, &bytes);
                self.events.push(published_event(&repr, bytes.len(), false));
                (out.id, bytes)
            }
        };
        let delay = self.jitter();
        self.schedule(
            now + delay,
            Some(id),
            // A limited broadcast: every node within the query's distance
            // relays the answer once (an announcement is not relayed
            // otherwise).
            signal_frame(hops.min(MAX_RELAY_HOPS) | FLOOD_FLAG, &bytes),
            Priority::Signal,
            false,
        );
    }

    /// Tells a losing confirmation's side about the winner: the winner is
    /// rebroadcast once per loser, with the full relay budget.
    pub(super) fn on_conflict(&mut self, now: Instant, conflict: Conflict) {
        let ours_lost = conflict.loser_source == self.key.get().public();
        self.events.push(SignalEvent::Conflict {
            conflict,
            ours_lost,
        });
        if !self.told.insert(conflict.loser) {
            return;
        }
        let Some(winner) = self.book.get(conflict.winner) else {
            return;
        };
        let frame = signal_frame(self.config.urgent_hops.min(MAX_RELAY_HOPS), &winner.bytes);
        let delay = self.jitter();
        self.schedule(
            now + delay,
            Some(conflict.winner),
            frame,
            Priority::Signal,
            false,
        );
    }
}
