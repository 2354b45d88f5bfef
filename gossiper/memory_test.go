package gossiper

import (
	"fmt"
	"testing"
	"time"
)

func TestMemoryForgetsByAgeAndCount(t *testing.T) {
	t0 := time.Unix(1795238300, 0)
	m := NewMemory[int](time.Minute, 3)
	for i, k := range []string{"a", "b", "c"} {
		if !m.Add(k, i, t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("%s not new", k)
		}
	}
	if m.Add("a", 9, t0.Add(3*time.Second)) {
		t.Error("a added twice")
	}
	if v, ok := m.Get("a", t0.Add(3*time.Second)); !ok || v != 0 {
		t.Errorf("a = %d, %v; a second Add must not change it", v, ok)
	}
	m.Add("d", 3, t0.Add(4*time.Second)) // over the count: a goes
	if _, ok := m.Get("a", t0.Add(4*time.Second)); ok || m.Len() != 3 {
		t.Errorf("a not forgotten at the count cap (len %d)", m.Len())
	}
	if m.Add("d", 0, t0.Add(30*time.Second)) {
		t.Error("d forgotten too early")
	}
	if !m.Add("d", 0, t0.Add(2*time.Minute)) {
		t.Error("d not forgotten after the window")
	}
	for i := 0; i < 100000; i++ {
		m.Add(fmt.Sprint(i), i, t0.Add(3*time.Minute))
	}
	if m.Len() != 3 || len(m.order)-m.head != 3 || cap(m.order) > 64 {
		t.Errorf("len %d, order %d (cap %d) after 100000 keys", m.Len(), len(m.order)-m.head, cap(m.order))
	}
}
