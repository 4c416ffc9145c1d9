package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/crm"
)

// OutboxCounter is what the outbox gauge needs of the CRM.
type OutboxCounter interface {
	OutboxDepth(ctx context.Context, ch crm.Channel) (int, error)
}

// Defaults of the outbox gauge.
const (
	// DefaultOutboxTTL is how long a counted depth is reused: scrapes
	// from several Prometheus servers do not each query SQLite.
	DefaultOutboxTTL = 5 * time.Second
	// outboxTimeout bounds one count, so a locked database cannot hang
	// a scrape.
	outboxTimeout = 2 * time.Second
)

// outboxCollector is parley_outbox_depth: the channels' pending outbox
// items, counted at most once per ttl.
type outboxCollector struct {
	store    OutboxCounter
	channels []crm.Channel
	ttl      time.Duration
	now      func() time.Time
	m        *Metrics
	desc     *prometheus.Desc

	mu      sync.Mutex
	counted time.Time
	depth   map[crm.Channel]int // the last good counts
}

// WatchOutbox registers parley_outbox_depth{channel} for channels,
// counted from store at most once per ttl (0: DefaultOutboxTTL). A
// count that fails is logged and the channel's last good count, if
// any, is reported; now nil means time.Now.
func (m *Metrics) WatchOutbox(store OutboxCounter, channels []crm.Channel, ttl time.Duration, now func() time.Time) error {
	if ttl <= 0 {
		ttl = DefaultOutboxTTL
	}
	if now == nil {
		now = time.Now
	}
	c := &outboxCollector{store: store, channels: channels, ttl: ttl, now: now, m: m,
		desc:  prometheus.NewDesc("parley_outbox_depth", "Pending outbox items (replies waiting to be sent) by channel.", []string{"channel"}, nil),
		depth: map[crm.Channel]int{}}
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("register outbox depth: %w", err)
	}
	return nil
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.counted.IsZero() || now.Sub(c.counted) >= c.ttl {
		c.count()
		c.counted = now
	}
	for _, chn := range c.channels {
		if d, ok := c.depth[chn]; ok {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(d), channel(chn))
		}
	}
}

// count refreshes the depths; the caller holds mu.
func (c *outboxCollector) count() {
	ctx, cancel := context.WithTimeout(context.Background(), outboxTimeout)
	defer cancel()
	for _, chn := range c.channels {
		start := time.Now()
		d, err := c.store.OutboxDepth(ctx, chn)
		c.m.ObserveDB(OpOutboxDepth, start)
		if err != nil {
			c.m.log.Warn("metrics: count the outbox", "channel", chn, "err", err)
			continue
		}
		c.depth[chn] = d
	}
}
