package gossiper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	bolt "go.etcd.io/bbolt"
)

// StoreFile is the name of the node's database in its data directory.
const StoreFile = "peerster.db"

// Store is the node's one embedded database (bbolt: one file, ACID
// transactions, a file lock). Each protocol gets its own namespace (a
// bucket) through Namespace and never opens files of its own.
//
// Writes are group-committed: Put and Delete queue a change and return at
// once; one goroutine commits whatever is queued in one transaction, so a
// burst of messages costs one fsync, not one each. Barrier is how a caller
// waits for durability without blocking: its function runs once every
// change queued before it is on disk.
type Store struct {
	db  *bolt.DB
	log logrus.FieldLogger

	mu      sync.Mutex
	pending []storeOp
	// holds counts Hold calls not yet released; while any is open, what
	// was queued from holdFrom on waits, so that it commits whole.
	holds    int
	holdFrom int
	closed   bool
	wake     chan struct{}
	stopped  chan struct{}
}

type storeOp struct {
	ns, key, value []byte
	del            bool
	barrier        func()
}

// ErrStoreLocked is returned by OpenStore when another process holds the
// database.
var ErrStoreLocked = errors.New("data directory in use by another process")

// OpenStore opens (creating it, and its directory with mode 0700) the
// database in dir. A database held by another daemon, or a file that is
// not a bbolt database, is an error naming the file; nothing is reset.
func OpenStore(dir string, log logrus.FieldLogger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, StoreFile)
	db, err := openBolt(path)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			holder := "another process"
			if pid := lockHolder(path); pid > 0 {
				holder = "process " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("%w: %s is held by %s", ErrStoreLocked, dir, holder)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, log: log, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	if err := s.checkRoots(); err != nil {
		db.Close()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

// checkRoots reads the root page and the first page of every namespace: a
// damaged root would otherwise read as an empty database, a silent reset.
// It reads a few pages, not the whole file, so start-up stays fast.
func (s *Store) checkRoots() (err error) {
	defer s.recoverDamage(&err)
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if len(name) == 0 || len(name) > 64 {
				return fmt.Errorf("%s is damaged: a namespace named %q", s.db.Path(), name)
			}
			b.Cursor().First()
			return nil
		})
	})
}

// openBolt opens path, turning a panic of the library on a damaged file
// into an error: a bad file must never take the daemon down unexplained.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("not a readable database: %v", r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
}

// lockHolder finds the process holding an flock on path in /proc/locks, or
// returns 0.
func lockHolder(path string) int {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	suffix := ":" + strconv.FormatUint(st.Ino, 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && fields[1] == "FLOCK" && strings.HasSuffix(fields[5], suffix) {
			if pid, err := strconv.Atoi(fields[4]); err == nil && pid != os.Getpid() {
				return pid
			}
		}
	}
	return 0
}

// Namespace is one protocol's part of the store.
type Namespace struct {
	s    *Store
	name []byte
}

// Namespace returns the namespace called name; it is created with the
// first write.
func (s *Store) Namespace(name string) *Namespace {
	return &Namespace{s: s, name: []byte(name)}
}

// Put queues key=value; it is durable once a later Barrier has run.
func (n *Namespace) Put(key, value []byte) {
	n.s.queue(storeOp{ns: n.name, key: bytes.Clone(key), value: bytes.Clone(value)})
}

// Delete queues the removal of key.
func (n *Namespace) Delete(key []byte) {
	n.s.queue(storeOp{ns: n.name, key: bytes.Clone(key), del: true})
}

// Get reads the committed value of key; nil when absent.
func (n *Namespace) Get(key []byte) (v []byte, err error) {
	defer n.s.recoverDamage(&err)
	err = n.s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(n.name); b != nil {
			v = bytes.Clone(b.Get(key))
		}
		return nil
	})
	return v, err
}

// ForEach calls fn, in key order, for every committed key with prefix. The
// slices are only valid during the call.
func (n *Namespace) ForEach(prefix []byte, fn func(key, value []byte) error) error {
	return n.ForEachFrom(prefix, prefix, fn)
}

// ForEachFrom is ForEach from the first key at or after from: a page of a
// long history is read without walking what comes before it. An error from
// fn ends the walk and is returned.
func (n *Namespace) ForEachFrom(prefix, from []byte, fn func(key, value []byte) error) (err error) {
	defer n.s.recoverDamage(&err)
	return n.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(n.name)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if err := fn(k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Hold starts a group of changes that commit in one transaction: nothing
// queued from now until the matching Release is committed before it. A
// protocol holds the store over one step (a packet handled), so a SIGKILL
// never leaves half a message on disk: its rumor without its chat entry.
func (s *Store) Hold() {
	s.mu.Lock()
	if s.holds == 0 {
		s.holdFrom = len(s.pending)
	}
	s.holds++
	s.mu.Unlock()
}

// Release ends what Hold started.
func (s *Store) Release() {
	s.mu.Lock()
	s.holds--
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Hold and Release are the store's, for a protocol that holds only its
// namespace.
func (n *Namespace) Hold()    { n.s.Hold() }
func (n *Namespace) Release() { n.s.Release() }

// recoverDamage turns the library's panic on a damaged page into an error
// naming the file: reads of a damaged database fail, they never crash.
func (s *Store) recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s is damaged: %v", s.db.Path(), r)
	}
}

// Barrier runs done, on the store's goroutine, once every change queued
// before it is on disk, in any namespace. done must not block.
func (s *Store) Barrier(done func()) { s.queue(storeOp{barrier: done}) }

// Barrier is the store's Barrier, for a protocol that holds only its
// namespace.
func (n *Namespace) Barrier(done func()) { n.s.Barrier(done) }

func (s *Store) queue(op storeOp) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.log.WithField("namespace", string(op.ns)).Error("store write after close dropped")
		return
	}
	s.pending = append(s.pending, op)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// commitLoop commits what is queued, a batch at a time, until Close.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	retry := NewBackoff(10*time.Millisecond, 5*time.Second)
	var batch []storeOp
	for {
		s.mu.Lock()
		ready := len(s.pending)
		if s.holds > 0 && !s.closed {
			ready = s.holdFrom
		}
		batch = append(batch, s.pending[:ready]...)
		s.pending = append(s.pending[:0], s.pending[ready:]...)
		if s.holds > 0 {
			s.holdFrom -= ready
		}
		closed := s.closed
		s.mu.Unlock()
		if len(batch) > 0 {
			if err := s.commit(batch); err != nil {
				if closed {
					s.log.WithError(err).WithField("changes", len(batch)).Error("store commit failed at close; changes lost")
					return
				}
				// Nothing of the batch is acknowledged: its barriers
				// wait, and it is tried again with what came meanwhile.
				s.log.WithError(err).WithField("changes", len(batch)).Error("store commit failed; retrying")
				time.Sleep(retry.Next())
				continue
			}
			retry.Reset()
			for _, op := range batch {
				if op.barrier != nil {
					op.barrier()
				}
			}
			batch = batch[:0]
			continue
		}
		if closed {
			return
		}
		<-s.wake
	}
}

func (s *Store) commit(batch []storeOp) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		var b *bolt.Bucket
		var bname []byte
		for _, op := range batch {
			if op.barrier != nil {
				continue
			}
			if b == nil || !bytes.Equal(bname, op.ns) {
				var err error
				if b, err = tx.CreateBucketIfNotExists(op.ns); err != nil {
					return fmt.Errorf("namespace %q: %w", op.ns, err)
				}
				bname = op.ns
			}
			var err error
			if op.del {
				err = b.Delete(op.key)
			} else {
				err = b.Put(op.key, op.value)
			}
			if err != nil {
				return fmt.Errorf("namespace %q key %q: %w", op.ns, op.key, err)
			}
		}
		return nil
	})
}

// Close commits what is queued and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.stopped
	return s.db.Close()
}
