package gossiper

import "time"

// Memory remembers keys, each with a value, for a time window and up to a
// count, forgetting the oldest first: the bounded "seen" sets that keep a
// long-running node from slowly using all memory.
type Memory[V any] struct {
	window time.Duration
	max    int
	items  map[string]memoryItem[V]
	order  []string // insertion order; order[head] is the oldest kept
	head   int
}

type memoryItem[V any] struct {
	value V
	at    time.Time
}

// NewMemory returns an empty memory of at most max keys, each kept for
// window.
func NewMemory[V any](window time.Duration, max int) *Memory[V] {
	return &Memory[V]{window: window, max: max, items: make(map[string]memoryItem[V])}
}

// Get returns the value remembered for key.
func (m *Memory[V]) Get(key string, now time.Time) (V, bool) {
	m.forgetOld(now)
	it, ok := m.items[key]
	return it.value, ok
}

// Add remembers key with v and reports whether key was new; a key already
// remembered keeps its value and age.
func (m *Memory[V]) Add(key string, v V, now time.Time) bool {
	m.forgetOld(now)
	if _, ok := m.items[key]; ok {
		return false
	}
	for len(m.items) >= m.max && m.head < len(m.order) {
		m.drop()
	}
	m.items[key] = memoryItem[V]{v, now}
	m.order = append(m.order, key)
	return true
}

// Len is the number of keys remembered.
func (m *Memory[V]) Len() int { return len(m.items) }

func (m *Memory[V]) forgetOld(now time.Time) {
	for m.head < len(m.order) && now.Sub(m.items[m.order[m.head]].at) >= m.window {
		m.drop()
	}
}

func (m *Memory[V]) drop() {
	delete(m.items, m.order[m.head])
	m.order[m.head] = ""
	m.head++
	// Reclaim the dead prefix once it is half the slice: amortised O(1).
	if m.head >= len(m.order)/2 {
		m.order = append(m.order[:0:0], m.order[m.head:]...)
		m.head = 0
	}
}
