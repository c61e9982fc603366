// Package redisreplay is the shared replay store of an enforcement point
// that runs as several replicas: each proof of possession is claimed in
// Redis with one atomic SET NX PX, so a PoP used at one replica is refused
// at every other (authz.ReplayStore); the grant that lets an MCP
// input_required retry present its PoP once more is kept there too, so the
// retry may reach any replica (authz.RetryStore). It fails closed: when Redis cannot
// be reached the call is refused, unless the store was opened to fail open,
// which it then logs at error level on every call it lets through.
package redisreplay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// DefaultTimeout bounds one claim when Options.Timeout is zero.
const DefaultTimeout = 250 * time.Millisecond

// KeyPrefix is put before every key, so the store can share a Redis.
const KeyPrefix = "tenuo:pop:"

// Options configures [Open].
type Options struct {
	// Timeout bounds one claim (connecting included); zero means
	// DefaultTimeout.
	Timeout time.Duration
	// FailOpen lets a call through when Redis fails, without replay
	// protection, logging each one at error level. The zero value refuses
	// it: never set this without meaning it.
	FailOpen bool
	// Log receives the fail-open lines; nil means slog.Default().
	Log *slog.Logger
}

// Store is a replay store in Redis. It is safe for concurrent use.
type Store struct {
	client   *redis.Client
	timeout  time.Duration
	failOpen bool
	log      *slog.Logger
}

var _ authz.RetryStore = (*Store)(nil)

// Open returns a store for a redis:// or rediss:// URL (as go-redis reads
// it: redis://[user:password@]host:port/db). It does not connect: Ping
// does, and each claim.
func Open(url string, o Options) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisreplay: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
	opt.MaxRetries = -1 // a claim is not retried: a retried SET NX could see its own first write
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Store{client: redis.NewClient(opt), timeout: o.Timeout, failOpen: o.FailOpen, log: o.Log}, nil
}

// Claim records key for ttl unless it is recorded already (one SET NX PX).
func (s *Store) Claim(key string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	fresh, err := s.client.SetNX(ctx, KeyPrefix+key, 1, ttl).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		if s.failOpen {
			s.log.Error("REPLAY PROTECTION OFF for this call: the Redis replay store failed and --replay-fail-open lets the call through", "err", err)
			return true, nil
		}
		return false, err
	}
	return fresh, nil
}

// Grant records key for ttl (one SET PX), for one later Take at any
// replica: the retry grant of an MCP input_required answer (see
// authz.RetryStore), so that the retry may reach another replica.
func (s *Store) Grant(key string, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.client.Set(ctx, KeyPrefix+key, 1, ttl).Err(); err != nil {
		if s.failOpen {
			s.log.Error("REPLAY PROTECTION OFF: the Redis replay store could not record a retry grant; with --replay-fail-open the retry will pass unchecked for replay", "err", err)
			return nil
		}
		return err
	}
	return nil
}

// Take removes key and reports whether it was there (one GETDEL: two
// replicas taking one grant at once find it once).
func (s *Store) Take(key string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	err := s.client.GetDel(ctx, KeyPrefix+key).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	case s.failOpen:
		s.log.Error("REPLAY PROTECTION OFF for this call: the Redis replay store failed and --replay-fail-open lets the retry through", "err", err)
		return true, nil
	}
	return false, err
}

// Ping checks that Redis answers (for readiness).
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.client.Ping(ctx).Err()
}

// Close closes the connections.
func (s *Store) Close() error { return s.client.Close() }
