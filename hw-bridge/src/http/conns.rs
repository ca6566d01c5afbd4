//! Admission of connections: a global cap and a per-client-address cap,
//! where a new connection takes the place of the oldest one that has not
//! sent its request yet (so slow or silent clients cannot hold every slot;
//! a connection that is being answered is never dropped for another).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// One open connection.
#[derive(Debug)]
struct Conn {
    ip: IpAddr,
    /// Set once its request head has arrived.
    busy: Arc<AtomicBool>,
    /// Fired to drop it for a newer one.
    evict: Option<oneshot::Sender<()>>,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    /// By id: ids grow with accept order, so the first is the oldest.
    conns: BTreeMap<u64, Conn>,
    per_ip: BTreeMap<IpAddr, usize>,
}

impl Table {
    fn remove(&mut self, id: u64) -> Option<Conn> {
        let c = self.conns.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&c.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&c.ip);
            }
        }
        Some(c)
    }

    /// Drops the oldest connection still waiting for its request (of `ip`
    /// only, if given); false if every candidate is being answered.
    fn evict_oldest_idle(&mut self, ip: Option<IpAddr>) -> bool {
        let victim = self
            .conns
            .iter()
            .find(|(_, c)| ip.is_none_or(|ip| c.ip == ip) && !c.busy.load(Ordering::Acquire))
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.remove(id)) {
            Some(mut c) => {
                if let Some(tx) = c.evict.take() {
                    let _ = tx.send(());
                }
                true
            }
            None => false,
        }
    }
}

/// The connection table shared by the accept loop and the connections.
#[derive(Clone, Debug)]
pub(super) struct Conns {
    table: Arc<Mutex<Table>>,
    max_total: usize,
    max_per_ip: usize,
}

/// A connection's place in the table, given up when dropped.
#[derive(Debug)]
pub(super) struct Admission {
    id: u64,
    table: Arc<Mutex<Table>>,
    /// To be set when the request head has arrived.
    pub(super) busy: Arc<AtomicBool>,
    /// Completes if the connection is dropped for a newer one.
    pub(super) evicted: oneshot::Receiver<()>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.table.lock().expect("not poisoned").remove(self.id);
    }
}

impl Conns {
    pub(super) fn new(max_total: usize, max_per_ip: usize) -> Conns {
        assert!(
            max_total > 0 && max_per_ip > 0,
            "connection caps must be positive"
        );
        Conns {
            table: Arc::new(Mutex::new(Table::default())),
            max_total,
            max_per_ip,
        }
    }

    /// Admits a connection from `ip`, making room by dropping the oldest
    /// idle connection of the same address (then of any address) when a
    /// cap is reached; `None` if no room can be made.
    pub(super) fn admit(&self, ip: IpAddr) -> Option<Admission> {
        let mut t = self.table.lock().expect("not poisoned");
        if t.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip
            && !t.evict_oldest_idle(Some(ip))
        {
            return None;
        }
        if t.conns.len() >= self.max_total && !t.evict_oldest_idle(None) {
            return None;
        }
        let id = t.next_id;
        t.next_id += 1;
        let busy = Arc::new(AtomicBool::new(false));
        let (tx, evicted) = oneshot::channel();
        t.conns.insert(
            id,
            Conn {
                ip,
                busy: busy.clone(),
                evict: Some(tx),
            },
        );
        *t.per_ip.entry(ip).or_default() += 1;
        Some(Admission {
            id,
            table: self.table.clone(),
            busy,
            evicted,
        })
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.table.lock().expect("not poisoned").conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_connection_replaces_the_oldest_idle_one() {
        let conns = Conns::new(4, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let mut a1 = conns.admit(a).unwrap();
        let a2 = conns.admit(a).unwrap();
        // a's cap is reached: a1, the oldest, makes room.
        let a3 = conns.admit(a).unwrap();
        assert_eq!(a1.evicted.try_recv(), Ok(()));
        drop(a1);
        assert_eq!(conns.open(), 2);
        // Busy connections are never dropped.
        a2.busy.store(true, Ordering::Release);
        a3.busy.store(true, Ordering::Release);
        assert!(conns.admit(a).is_none());
        // Other addresses have their own cap, under the global one.
        let mut b1 = conns.admit(b).unwrap();
        let _b2 = conns.admit(b).unwrap();
        assert_eq!(conns.open(), 4);
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        let _c1 = conns.admit(c).unwrap();
        assert_eq!(b1.evicted.try_recv(), Ok(()));
        drop(b1);
        assert_eq!(conns.open(), 4);
        drop(a2);
        assert_eq!(conns.open(), 3);
    }
}
