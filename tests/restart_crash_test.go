package tests

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What a crash may leave behind: a SIGKILL in the middle of a burst, and a
// database file damaged on disk.

// TestSIGKILLDuringBurstKeepsEveryAcknowledgedMessage sends 1,000 client messages
// as fast as a client can to B (with -dataDir) in a line A–B–C and kills B
// with SIGKILL in the middle. Every message B acknowledged with a CLIENT
// MESSAGE line must, once B is back, be at every node exactly once under
// the same (origin, ID); and B's sequence continues after all of them.
func TestSIGKILLDuringBurstKeepsEveryAcknowledgedMessage(t *testing.T) {
	t.Parallel()
	nodes := startLine(t, []string{"A", "B", "C"}, 1)
	b := nodes[1]
	const total = 1000
	sender := newClientSender(t, b.uiPort)
	stopSending := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		for i := range total {
			select {
			case <-stopSending:
				sent <- i
				return
			default:
			}
			_ = sender.send(fmt.Sprintf("burst_%04d", i))
			// A client that pauses now and then, so that the kill lands
			// in the middle of the burst, not after it.
			if i%10 == 9 {
				time.Sleep(2 * time.Millisecond)
			}
		}
		sent <- total
	}()
	waitFor(t, "B to acknowledge 200 messages of the burst", waitTimeout, func() bool {
		acked, _ := clientLines(b.out, 0)
		return len(acked) >= 200
	})
	halt(t, b, syscall.SIGKILL)
	close(stopSending)
	n := <-sent
	// halt waited for B's exit, and with it the last line B wrote.
	acked, _ := clientLines(b.out, 0)
	t.Logf("B killed after acknowledging %d of the %d messages sent", len(acked), n)

	b.restart(t)
	deadline := time.Now().Add(restartTimeout)
	for {
		problem := burstLoss(t, nodes, acked)
		if problem == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", restartTimeout, problem)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var highest uint32
	for k := range peersterChatOf(t, b).texts {
		if k.origin == "B" {
			highest = max(highest, k.id)
		}
	}
	sendClient(t, b.node, "after_restart")
	for _, n := range nodes {
		waitChat(t, n, restartTimeout, "after_restart")
	}
	for k, s := range peersterChatOf(t, nodes[0]).texts {
		if s == "after_restart" && k != (msgKey{"B", highest + 1}) {
			t.Errorf("B's message after the restart is %v, want B/%d (after the %d it had stored)", k, highest+1, highest)
		}
	}
}

// burstLoss says what keeps the line from being consistent after the
// burst, or "" once every node shows every acknowledged text exactly once
// and all show the same (origin, ID) -> text.
func burstLoss(t testing.TB, nodes []*chatNode, acked []string) string {
	var first map[msgKey]string
	for _, n := range nodes {
		c := peersterChatOf(t, n)
		if len(c.twice) > 0 {
			t.Fatalf("node %s shows a message twice: %s", n.name, strings.Join(c.twice[:min(5, len(c.twice))], "; "))
		}
		have := map[string]bool{}
		for _, s := range c.texts {
			have[s] = true
		}
		missing := 0
		for _, s := range acked {
			if !have[s] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Sprintf("node %s lacks %d of the %d acknowledged messages", n.name, missing, len(acked))
		}
		if first == nil {
			first = c.texts
		} else if d := diffChat(c.texts, first); d != "" {
			return fmt.Sprintf("node %s differs from %s: %s", n.name, nodes[0].name, d)
		}
	}
	return ""
}

// TestDamagedDatabaseIsRefused damages the page the current meta page names
// as its root: the daemon must exit 1 with one line naming the file, never
// panic and never run on as if the database were empty.
func TestDamagedDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	n := startLine(t, []string{"Damaged"}, 0)[0]
	sendClient(t, n.node, "before_the_damage")
	waitLine(t, n.node, exactLine("CLIENT MESSAGE before_the_damage"), waitTimeout)
	halt(t, n, syscall.SIGTERM)
	dir := dataDirOf(t, n)
	file := filepath.Join(dir, "peerster.db")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt's two meta pages (page 0 and 1) each hold the root bucket's
	// page; the one with the higher transaction ID is current.
	pageSize := int(binary.LittleEndian.Uint32(b[16+8:]))
	root := func(meta []byte) (pgid, txid uint64) {
		// meta: magic, version, page size, flags (4 bytes each), the root
		// bucket (root page, sequence), freelist page, high-water page, txid.
		return binary.LittleEndian.Uint64(meta[16+16:]), binary.LittleEndian.Uint64(meta[16+48:])
	}
	r0, tx0 := root(b)
	r1, tx1 := root(b[pageSize:])
	if tx1 > tx0 {
		r0 = r1
	}
	page := b[int(r0)*pageSize : int(r0+1)*pageSize]
	for i := range page {
		page[i] = byte(0x5a ^ i)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	expectRefusedFile(t, dir, file, b)
}
