//! A map over a list on every core, handed on in the list's order, with no barrier.
//!
//! Reading local files was done a batch at a time: every thread read units of a batch, then
//! waited for the batch's slowest unit and for the batch to be handed on before the next one
//! began. On two cores that left them 1.78 busy (benches/NOTES.md). Here the threads take the
//! next unit as soon as they are free, and the calling thread hands results on as soon as the
//! one it waits for is there, in order. A window bounds what is held: no unit is taken more than
//! `units` places, or (unless it is the next to hand on) `bytes` of input, ahead of the next one
//! to hand on, so the results waiting to be handed on stay bounded as a batch's were.
//!
//! The calling thread works too: it takes units while nothing is ready to hand on, and `threads
//! − 1` jobs are spawned on rayon's pool. So a scan started outside the pool keeps exactly
//! `threads` threads busy, and one started on a pool's thread (`ThreadPool::install`, even with
//! one thread) cannot wait for a job that only it could run.
//!
//! `hand_on` may say that units up to some index are no longer wanted (the rest of a file that
//! is being read again in one piece): those taken after that are given to `work` with `wanted`
//! false (so the caller can return an empty result without reading), and handed on as usual.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};

/// How far ahead of the next unit to hand on the threads may take units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub units: usize,
    pub bytes: u64,
}

struct State {
    /// The next unit to take.
    next: usize,
    /// The next unit to hand on.
    cursor: usize,
    /// Input bytes of the units taken and not yet handed on.
    bytes: u64,
    /// Units before this are not wanted (`hand_on`'s answer).
    skip_until: usize,
    /// A thread panicked, or the calling thread has finished: take nothing more.
    stop: bool,
    /// Threads waiting for room (a notification is a system call: made only for them).
    waiting: usize,
}

struct Shared<'a, T> {
    items: &'a [T],
    weight: &'a (dyn Fn(&T) -> u64 + Sync),
    window: Window,
    state: Mutex<State>,
    room: Condvar,
}

/// A unit taken: its index, and whether it is still wanted.
type Taken = (usize, bool);

impl<T> Shared<'_, T> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held leaves `State` consistent (every update is one
        // assignment); the panic itself is re-raised by the scope.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next unit if the window has room for it (`Err(true)`: nothing is left to take).
    fn try_take(&self, s: &mut State) -> Result<Taken, bool> {
        if s.stop || s.next >= self.items.len() {
            return Err(true);
        }
        let i = s.next;
        let w = (self.weight)(&self.items[i]);
        let fits =
            i == s.cursor || (i < s.cursor + self.window.units && s.bytes + w <= self.window.bytes);
        if !fits {
            return Err(false);
        }
        s.next += 1;
        s.bytes += w;
        Ok((i, i >= s.skip_until))
    }

    /// Wait for room, then take (`None`: nothing left).
    fn take_waiting(&self) -> Option<Taken> {
        let mut s = self.lock();
        loop {
            match self.try_take(&mut s) {
                Ok(t) => return Some(t),
                Err(true) => return None,
                Err(false) => {
                    s.waiting += 1;
                    s = self.room.wait(s).unwrap_or_else(|e| e.into_inner());
                    s.waiting -= 1;
                }
            }
        }
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.room.notify_all();
    }
}

/// Stops the other threads when dropped: at the end, or by a panic on the thread holding it.
struct StopOnDrop<'s, 'a, T>(&'s Shared<'a, T>);

impl<T> Drop for StopOnDrop<'_, '_, T> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Run `work(index, item, wanted)` for every item on `threads` threads (the caller being one),
/// and `hand_on(index, result)` on the calling thread in index order. `hand_on` returns the
/// index before which units are no longer wanted (0 for none).
pub(crate) fn ordered_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    window: Window,
    weight: &(dyn Fn(&T) -> u64 + Sync),
    work: &(dyn Fn(usize, &T, bool) -> R + Sync),
    hand_on: &mut dyn FnMut(usize, R) -> usize,
) {
    let shared = Shared {
        items,
        weight,
        window: Window {
            units: window.units.max(1),
            bytes: window.bytes,
        },
        state: Mutex::new(State {
            next: 0,
            cursor: 0,
            bytes: 0,
            skip_until: 0,
            stop: false,
            waiting: 0,
        }),
        room: Condvar::new(),
    };
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    rayon::in_place_scope(|scope| {
        for _ in 1..threads.max(1) {
            let tx = tx.clone();
            let shared = &shared;
            scope.spawn(move |_| {
                let _stop = StopOnDrop(shared);
                while let Some((i, wanted)) = shared.take_waiting() {
                    if tx.send((i, work(i, &items[i], wanted))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let _stop = StopOnDrop(&shared);
        hand_on_in_order(&shared, &rx, work, hand_on);
    });
}

/// The calling thread's part: hand on what is ready, else take a unit, else wait for one.
fn hand_on_in_order<T, R>(
    shared: &Shared<'_, T>,
    rx: &mpsc::Receiver<(usize, R)>,
    work: &(dyn Fn(usize, &T, bool) -> R + Sync),
    hand_on: &mut dyn FnMut(usize, R) -> usize,
) {
    let n = shared.items.len();
    // Results by index from `cursor` on (at most the window's units).
    let mut ready: VecDeque<Option<R>> = VecDeque::new();
    let mut cursor = 0;
    while cursor < n {
        while let Ok((i, r)) = rx.try_recv() {
            put(&mut ready, i - cursor, r);
        }
        if let Some(r) = ready.front_mut().and_then(Option::take) {
            ready.pop_front();
            let skip = hand_on(cursor, r);
            let w = (shared.weight)(&shared.items[cursor]);
            cursor += 1;
            let mut s = shared.lock();
            s.cursor = cursor;
            s.bytes -= w;
            s.skip_until = s.skip_until.max(skip);
            let waiting = s.waiting > 0;
            drop(s);
            if waiting {
                shared.room.notify_all();
            }
            continue;
        }
        let taken = shared.try_take(&mut shared.lock());
        match taken {
            Ok((i, wanted)) => put(&mut ready, i - cursor, work(i, &shared.items[i], wanted)),
            Err(_) => match rx.recv() {
                Ok((i, r)) => put(&mut ready, i - cursor, r),
                // Every other thread has gone, and the next result is not here: one of them
                // panicked (the scope raises it again).
                Err(_) => return,
            },
        }
    }
}

fn put<R>(ready: &mut VecDeque<Option<R>>, at: usize, r: R) {
    if ready.len() <= at {
        ready.resize_with(at + 1, || None);
    }
    ready[at] = Some(r);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn hands_on_in_order_whatever_the_threads() {
        let items: Vec<u64> = (0..500).collect();
        for threads in [1, 2, 3, 8] {
            let mut got = Vec::new();
            // Uneven work, so that later units often finish first.
            let work = |i: usize, x: &u64, _: bool| {
                if i.is_multiple_of(7) {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                x * 2
            };
            ordered_map(
                &items,
                threads,
                Window {
                    units: 16,
                    bytes: 1 << 20,
                },
                &|_| 1,
                &work,
                &mut |i, r| {
                    got.push((i, r));
                    0
                },
            );
            let want: Vec<(usize, u64)> = items.iter().map(|&x| (x as usize, x * 2)).collect();
            assert_eq!(got, want, "threads {threads}");
        }
    }

    #[test]
    fn never_takes_more_than_the_window_ahead() {
        let items: Vec<u64> = vec![10; 300];
        let taken_max = AtomicUsize::new(0);
        let handed = AtomicUsize::new(0);
        let work = |i: usize, _: &u64, _: bool| {
            let ahead = i - handed.load(Ordering::SeqCst);
            taken_max.fetch_max(ahead, Ordering::SeqCst);
        };
        ordered_map(
            &items,
            4,
            Window {
                units: 8,
                bytes: 50,
            },
            &|w| *w,
            &work,
            &mut |i, ()| {
                handed.store(i + 1, Ordering::SeqCst);
                0
            },
        );
        // Five units of 10 bytes fit in 50 bytes: at most four places ahead of the next.
        assert!(taken_max.load(Ordering::SeqCst) <= 4);
    }

    #[test]
    fn units_no_longer_wanted_are_not_worked_on() {
        let items: Vec<u64> = (0..200).collect();
        let worked = AtomicUsize::new(0);
        let mut skipped = Vec::new();
        let work = |_: usize, _: &u64, wanted: bool| {
            if wanted {
                worked.fetch_add(1, Ordering::SeqCst);
            }
            wanted
        };
        ordered_map(
            &items,
            2,
            Window {
                units: 4,
                bytes: u64::MAX,
            },
            &|_| 1,
            &work,
            &mut |i, wanted| {
                if !wanted {
                    skipped.push(i);
                }
                if i == 10 {
                    150
                } else {
                    0
                }
            },
        );
        // Units 11..150 taken after the answer are skipped; the window lets at most a few be
        // taken before it.
        assert!(skipped.len() >= 150 - 11 - 4, "{}", skipped.len());
        assert!(skipped.iter().all(|&i| (11..150).contains(&i)));
        assert!(worked.load(Ordering::SeqCst) <= 200 - skipped.len());
    }

    #[test]
    fn runs_on_a_pool_thread_even_with_one_thread() {
        for threads in [1, 2] {
            let items: Vec<u64> = (0..100).collect();
            let mut sum = 0;
            pool(threads).install(|| {
                ordered_map(
                    &items,
                    rayon::current_num_threads(),
                    Window {
                        units: 3,
                        bytes: u64::MAX,
                    },
                    &|_| 1,
                    &|_, x: &u64, _| *x,
                    &mut |_, x| {
                        sum += x;
                        0
                    },
                )
            });
            assert_eq!(sum, 4950);
        }
    }

    #[test]
    fn a_panicking_unit_is_raised_again_and_nothing_hangs() {
        let items: Vec<u64> = (0..1000).collect();
        let result = std::panic::catch_unwind(|| {
            pool(3).install(|| {
                ordered_map(
                    &items,
                    3,
                    Window {
                        units: 4,
                        bytes: u64::MAX,
                    },
                    &|_| 1,
                    &|i, _: &u64, _| {
                        assert!(i != 37, "unit 37");
                    },
                    &mut |_, ()| 0,
                )
            })
        });
        assert!(result.is_err());
    }
}
