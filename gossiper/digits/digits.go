package digits

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/peerster-chat/Peerster/gossiper"
	"github.com/peerster-chat/Peerster/messages"
	"github.com/sirupsen/logrus"
)

// ProtocolName tags the digit gossip's events and lines.
const ProtocolName = "digits"

// Digits is one node of the digit gossip.
type Digits struct {
	metrics *gossiper.ProtocolMetrics
	cfg     Config
	ln      net.Listener
	host    gossiper.Host
	log     logrus.FieldLogger
	// rl bounds the lines that what peers answer makes us log.
	rl      *gossiper.RateLog
	table   *table
	records *records
	settle  *settleQueue

	adversarial atomic.Bool
	randMu      sync.Mutex // Rand is not safe for concurrent use
	wg          sync.WaitGroup
	runCtx      atomic.Pointer[context.Context]
}

// New returns a digit node serving on ln, which must listen on cfg.Self.
func New(cfg Config, ln net.Listener, host gossiper.Host) (*Digits, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	self, err := messages.ParseDigitAddr(cfg.Self)
	if err != nil {
		return nil, fmt.Errorf("digits: own address: %w", err)
	}
	cfg.Self = self
	metrics := host.Metrics().Protocol(ProtocolName)
	cfg.Accept.Metrics = metrics
	d := &Digits{
		metrics: metrics,
		rl:      gossiper.NewRateLog(cfg.Clock),
		cfg:     cfg,
		ln:      ln,
		host:    host,
		log:     cfg.Log.WithField("protocol", ProtocolName),
		table:   newTable(self, cfg.MaxEntries, cfg.Store),
		records: newRecords(cfg.BackoffBase, cfg.BackoffMax),
		settle:  newSettleQueue(),
	}
	if err := d.table.load(); err != nil {
		return nil, err
	}
	return d, nil
}

// Name implements gossiper.Protocol.
func (d *Digits) Name() string { return ProtocolName }

// IdentityFields implements gossiper.IdentityReporter.
func (d *Digits) IdentityFields() []gossiper.IdentityField {
	return []gossiper.IdentityField{{Key: "digitAddr", Label: "digit gossip address (TCP)", Value: d.cfg.Self}}
}

// Run serves the table and pulls a random node every PullEvery until ctx is
// cancelled or the listener fails; then it closes the listener and every
// connection, and waits for its goroutines.
func (d *Digits) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.runCtx.Store(&ctx)
	// The same -digit after a restart keeps our entry as it was stored:
	// a new time would tell every peer of a change that never happened.
	if own, ok := d.table.own(); d.cfg.Digit != nil && (!ok || own.Digit != *d.cfg.Digit) {
		d.setDigit(*d.cfg.Digit)
	}
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		gossiper.Every(ctx, d.cfg.Clock, d.cfg.PullEvery, func() { d.pullRandom(ctx) })
	}()
	go func() {
		defer d.wg.Done()
		d.settleConflicts(ctx)
	}()
	err := d.serve(ctx)
	// A failed listener stops the pulls too, or Run would never return.
	cancel()
	d.wg.Wait()
	if err != nil {
		return fmt.Errorf("digits: %w", err)
	}
	return nil
}

// Command implements gossiper.Commander: "+ip:port" pulls now and puts the
// address in rotation whatever its scope, a digit sets ours, "?" prints the
// table, "!" the connection records, "a" toggles adversarial mode.
func (d *Digits) Command(line string) (bool, error) {
	switch {
	case len(line) == 1 && line[0] >= '0' && line[0] <= '9':
		d.setDigit(line[0] - '0')
	case line == "?":
		snap := d.table.snapshot()
		lines := make([]string, len(snap))
		for i, e := range snap {
			lines[i] = changeLine(e)
		}
		if len(lines) > 0 {
			d.host.Print(ProtocolName, lines...)
		}
	case line == "!":
		for _, l := range d.records.lines(d.cfg.Clock.Now()) {
			fmt.Fprintln(d.cfg.Report, l)
		}
	case line == "a":
		on := !d.adversarial.Load()
		d.adversarial.Store(on)
		fmt.Fprintf(d.cfg.Report, "adversarial mode %s\n", map[bool]string{true: "on", false: "off"}[on])
		d.log.WithField("adversarial", on).Warn("adversarial mode toggled")
	case len(line) > 1 && line[0] == '+':
		addr, err := messages.ParseDigitAddr(line[1:])
		if err != nil {
			return true, err
		}
		if addr == d.cfg.Self {
			return true, fmt.Errorf("%s is our own address", addr)
		}
		d.records.give(addr)
		d.pullInBackground(addr)
	default:
		return false, nil
	}
	return true, nil
}

// pullInBackground pulls addr now without holding up the console or the
// client port; the pull ends with the node.
func (d *Digits) pullInBackground(addr string) {
	ctxp := d.runCtx.Load()
	if ctxp == nil {
		d.log.WithField("peer", addr).Warn("pull asked before the node runs; ignored")
		return
	}
	ctx := *ctxp
	if ctx.Err() != nil {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.pull(ctx, addr)
	}()
}

// SetDigit sets our own digit (0–9).
func (d *Digits) setDigit(digit uint8) {
	e := d.table.setOwn(digit, d.cfg.Clock.Now().Unix())
	d.announce([]messages.DigitEntry{e})
}

// announce prints and publishes digit changes.
func (d *Digits) announce(changed []messages.DigitEntry) {
	if len(changed) == 0 {
		return
	}
	lines := make([]string, len(changed))
	for i, e := range changed {
		lines[i] = changeLine(e)
	}
	d.host.Print(ProtocolName, lines...)
	for i := range changed {
		d.host.Publish(gossiper.Event{Kind: gossiper.EventUpdate, Protocol: ProtocolName, Update: digitUpdate, Data: changed[i]})
	}
}

// Entries is the table sorted by address.
func (d *Digits) Entries() []messages.DigitEntry { return d.table.snapshot() }

func changeLine(e messages.DigitEntry) string {
	return e.Addr + " --> " + strconv.Itoa(int(e.Digit))
}
