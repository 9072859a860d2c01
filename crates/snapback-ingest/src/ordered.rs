//! A map over a stream on every core, handed on in the stream's order, with no barrier.
//!
//! Reading local files was done a batch at a time: every thread read units of a batch, then
//! waited for the batch's slowest unit and for the batch to be handed on before the next one
//! began. On two cores that left them 1.78 busy (benches/NOTES.md). Here the threads take the
//! next unit as soon as they are free, and the calling thread hands results on as soon as the
//! one it waits for is there, in order. A window bounds what is held: no unit is taken more than
//! `units` places, or (unless it is the next to hand on) `bytes` of input, ahead of the next one
//! to hand on, so the results waiting to be handed on stay bounded as a batch's were.
//!
//! The units come from an iterator drained on a thread of its own (the walk of a directory
//! tree and the sizing of its files: system calls, not a core's work), so reading starts with
//! the first unit listed, not after the last; at most [`QUEUED`] units wait to be taken, so the
//! memory a listing holds is bounded however many files a tree has.
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

/// The most units listed and not yet taken (a unit is a path and a few numbers: about 2.5 MB).
pub(crate) const QUEUED: usize = 1 << 14;

struct State<T> {
    /// Units listed and not yet taken; the first is unit `next`.
    queue: VecDeque<T>,
    /// Every unit has been listed.
    listed: bool,
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
    /// Who waits, so that a change wakes threads only when it is what one waits for (a
    /// notification is a system call): threads waiting for room in the window, threads
    /// waiting for a unit to be listed, and the lister waiting for room in the queue.
    for_room: usize,
    for_units: usize,
    lister: bool,
}

struct Shared<'a, T> {
    weight: &'a (dyn Fn(&T) -> u64 + Sync),
    window: Window,
    state: Mutex<State<T>>,
    room: Condvar,
}

/// A unit taken: its index, the unit, and whether it is still wanted.
type Taken<T> = (usize, T, bool);

/// Why nothing was taken.
enum Nothing {
    /// Nothing is left to take, nor will be.
    Left,
    /// Not now: the window is full.
    Full,
    /// Not now: the next unit is not listed yet.
    Unlisted,
}

/// What a thread waits for.
#[derive(Clone, Copy)]
enum Wait {
    Room,
    Units,
    Queue,
}

impl<T> Shared<'_, T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while the lock is held leaves `State` consistent (every update is one
        // assignment); the panic itself is re-raised by the scope.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait on `room` for `what`; the caller checks again when woken.
    fn wait<'g>(&self, mut s: MutexGuard<'g, State<T>>, what: Wait) -> MutexGuard<'g, State<T>> {
        match what {
            Wait::Room => s.for_room += 1,
            Wait::Units => s.for_units += 1,
            Wait::Queue => s.lister = true,
        }
        let mut s = self.room.wait(s).unwrap_or_else(|e| e.into_inner());
        match what {
            Wait::Room => s.for_room -= 1,
            Wait::Units => s.for_units -= 1,
            Wait::Queue => s.lister = false,
        }
        s
    }

    /// Wake the waiting threads when `wake` (some of them wait for what just changed).
    fn notify(&self, s: MutexGuard<'_, State<T>>, wake: bool) {
        drop(s);
        if wake {
            self.room.notify_all();
        }
    }

    /// The next unit if it is listed and the window has room for it.
    fn try_take(&self, s: &mut State<T>) -> Result<Taken<T>, Nothing> {
        if s.stop {
            return Err(Nothing::Left);
        }
        let Some(front) = s.queue.front() else {
            return Err(if s.listed {
                Nothing::Left
            } else {
                Nothing::Unlisted
            });
        };
        let i = s.next;
        let w = (self.weight)(front);
        let fits =
            i == s.cursor || (i < s.cursor + self.window.units && s.bytes + w <= self.window.bytes);
        if !fits {
            return Err(Nothing::Full);
        }
        let unit = s.queue.pop_front().ok_or(Nothing::Unlisted)?;
        s.next += 1;
        s.bytes += w;
        Ok((i, unit, i >= s.skip_until))
    }

    /// After a take: wake the lister once the queue is down to half (not at every take, or
    /// it would wake and sleep again for each unit of a tree larger than the queue).
    fn taken(&self, s: MutexGuard<'_, State<T>>) {
        let wake = s.lister && s.queue.len() <= QUEUED / 2;
        self.notify(s, wake);
    }

    /// Take, waiting for room or a unit (`None`: nothing left).
    fn take_waiting(&self) -> Option<Taken<T>> {
        let mut s = self.lock();
        loop {
            match self.try_take(&mut s) {
                Ok(t) => {
                    self.taken(s);
                    return Some(t);
                }
                Err(Nothing::Left) => return None,
                Err(Nothing::Full) => s = self.wait(s, Wait::Room),
                Err(Nothing::Unlisted) => s = self.wait(s, Wait::Units),
            }
        }
    }

    /// The lister's part: queue every unit of `source`, waiting while the queue is full.
    fn list(&self, source: impl Iterator<Item = T>) {
        for unit in source {
            let mut s = self.lock();
            if s.queue.len() >= QUEUED {
                while s.queue.len() > QUEUED / 2 && !s.stop {
                    s = self.wait(s, Wait::Queue);
                }
            }
            if s.stop {
                return;
            }
            s.queue.push_back(unit);
            let wake = s.for_units > 0;
            self.notify(s, wake);
        }
        let mut s = self.lock();
        s.listed = true;
        self.notify(s, true);
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

/// Run `work(index, unit, wanted)` for every unit of `source` on `threads` threads (the caller
/// being one; `source` is drained on a thread of its own), and `hand_on(index, unit, result)`
/// on the calling thread in index order. `hand_on` returns the index before which units are
/// no longer wanted (0 for none).
pub(crate) fn ordered_map<T: Send, R: Send>(
    source: impl Iterator<Item = T> + Send,
    threads: usize,
    window: Window,
    weight: &(dyn Fn(&T) -> u64 + Sync),
    work: &(dyn Fn(usize, &T, bool) -> R + Sync),
    hand_on: &mut dyn FnMut(usize, T, R) -> usize,
) {
    let shared = Shared {
        weight,
        window: Window {
            units: window.units.max(1),
            bytes: window.bytes,
        },
        state: Mutex::new(State {
            queue: VecDeque::new(),
            listed: false,
            next: 0,
            cursor: 0,
            bytes: 0,
            skip_until: 0,
            stop: false,
            for_room: 0,
            for_units: 0,
            lister: false,
        }),
        room: Condvar::new(),
    };
    let (tx, rx) = mpsc::channel::<(usize, T, R)>();
    std::thread::scope(|threads_scope| {
        let shared = &shared;
        threads_scope.spawn(move || {
            // Stops the others only if listing panics: once it is over, they stop when the
            // calling thread does.
            let stop_on_panic = StopOnDrop(shared);
            shared.list(source);
            std::mem::forget(stop_on_panic);
        });
        rayon::in_place_scope(|scope| {
            for _ in 1..threads.max(1) {
                let tx = tx.clone();
                scope.spawn(move |_| {
                    let _stop = StopOnDrop(shared);
                    while let Some((i, unit, wanted)) = shared.take_waiting() {
                        let r = work(i, &unit, wanted);
                        if tx.send((i, unit, r)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            let _stop = StopOnDrop(shared);
            hand_on_in_order(shared, &rx, work, hand_on);
        });
    });
}

/// The calling thread's part: hand on what is ready, else take a unit, else wait for one.
fn hand_on_in_order<T, R>(
    shared: &Shared<'_, T>,
    rx: &mpsc::Receiver<(usize, T, R)>,
    work: &(dyn Fn(usize, &T, bool) -> R + Sync),
    hand_on: &mut dyn FnMut(usize, T, R) -> usize,
) {
    // Results by index from `cursor` on (at most the window's units).
    let mut ready: VecDeque<Option<(T, R)>> = VecDeque::new();
    let mut cursor = 0;
    loop {
        while let Ok((i, unit, r)) = rx.try_recv() {
            put(&mut ready, i - cursor, (unit, r));
        }
        if let Some((unit, r)) = ready.front_mut().and_then(Option::take) {
            ready.pop_front();
            let w = (shared.weight)(&unit);
            let skip = hand_on(cursor, unit, r);
            cursor += 1;
            let mut s = shared.lock();
            s.cursor = cursor;
            s.bytes -= w;
            s.skip_until = s.skip_until.max(skip);
            let wake = s.for_room > 0;
            shared.notify(s, wake);
            continue;
        }
        let mut s = shared.lock();
        match shared.try_take(&mut s) {
            Ok((i, unit, wanted)) => {
                shared.taken(s);
                let r = work(i, &unit, wanted);
                put(&mut ready, i - cursor, (unit, r));
            }
            // Every unit taken has been handed on, and none is left.
            Err(Nothing::Left) if s.next == cursor => return,
            // None taken is at another thread: wait for one to be listed.
            Err(Nothing::Unlisted) if s.next == cursor => drop(shared.wait(s, Wait::Units)),
            Err(_) => {
                drop(s);
                match rx.recv() {
                    Ok((i, unit, r)) => put(&mut ready, i - cursor, (unit, r)),
                    // Every other thread has gone, and the next result is not here: one of
                    // them panicked (the scope raises it again).
                    Err(_) => return,
                }
            }
        }
    }
}

fn put<T>(ready: &mut VecDeque<Option<T>>, at: usize, r: T) {
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
                items.iter().copied(),
                threads,
                Window {
                    units: 16,
                    bytes: 1 << 20,
                },
                &|_| 1,
                &work,
                &mut |i, _, r| {
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
            items.iter().copied(),
            4,
            Window {
                units: 8,
                bytes: 50,
            },
            &|w| *w,
            &work,
            &mut |i, _, ()| {
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
            items.iter().copied(),
            2,
            Window {
                units: 4,
                bytes: u64::MAX,
            },
            &|_| 1,
            &work,
            &mut |i, _, wanted| {
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
                    items.iter().copied(),
                    rayon::current_num_threads(),
                    Window {
                        units: 3,
                        bytes: u64::MAX,
                    },
                    &|_| 1,
                    &|_, x: &u64, _| *x,
                    &mut |_, _, x| {
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
                    items.iter().copied(),
                    3,
                    Window {
                        units: 4,
                        bytes: u64::MAX,
                    },
                    &|_| 1,
                    &|i, _: &u64, _| {
                        assert!(i != 37, "unit 37");
                    },
                    &mut |_, _, ()| 0,
                )
            })
        });
        assert!(result.is_err());
    }

    #[test]
    fn units_are_read_while_they_are_listed_and_the_queue_is_bounded() {
        let listed = AtomicUsize::new(0);
        let handed = AtomicUsize::new(0);
        let ahead = AtomicUsize::new(0);
        let n = QUEUED * 2 + 100;
        // A source slower than the work at first (the walk of a tree), then fast.
        let source = (0..n).inspect(|&i| {
            if i < 50 {
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
            let l = listed.fetch_add(1, Ordering::SeqCst) + 1;
            ahead.fetch_max(l - handed.load(Ordering::SeqCst), Ordering::SeqCst);
        });
        let mut got = Vec::new();
        let mut first_handed_at = None;
        ordered_map(
            source,
            2,
            Window {
                units: 8,
                bytes: u64::MAX,
            },
            &|_| 1,
            &|_, x: &usize, _| *x,
            &mut |i, unit, r| {
                assert_eq!(unit, r);
                first_handed_at.get_or_insert(listed.load(Ordering::SeqCst));
                handed.store(i + 1, Ordering::SeqCst);
                got.push(r);
                0
            },
        );
        assert_eq!(got, (0..n).collect::<Vec<_>>());
        // The first unit was handed on long before the last was listed.
        assert!(first_handed_at.unwrap() < 50, "{first_handed_at:?}");
        // Listed ahead of what was handed on: the queue, the window and a unit or two between.
        assert!(ahead.load(Ordering::SeqCst) <= QUEUED + 8 + 3);
    }

    #[test]
    fn a_panicking_source_is_raised_again_and_nothing_hangs() {
        let result = std::panic::catch_unwind(|| {
            pool(2).install(|| {
                ordered_map(
                    (0..100u64).inspect(|&i| assert!(i != 40, "listing 40")),
                    2,
                    Window {
                        units: 4,
                        bytes: u64::MAX,
                    },
                    &|_| 1,
                    &|_, x: &u64, _| *x,
                    &mut |_, _, _| 0,
                )
            })
        });
        assert!(result.is_err());
    }
}
