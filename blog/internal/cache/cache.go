// Package cache keeps rendered pages in memory, bounded in bytes, and drops
// them all whenever the data behind them changes.
//
// Invalidation is by generation: every change (a write in this process, a
// notification from another, or the moment a scheduled post goes out)
// starts a new generation and empties the cache. A page rendered from data
// read during an older generation is never stored, so a reader racing a
// writer cannot put a stale page back. Blogs are read far more than they
// are written; dropping everything on a write is the simple way to never
// serve a stale page, and the pages people read come back within a
// request each.
package cache

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"
)

// entryOverhead approximates the bytes of bookkeeping per entry (map slot,
// list element, key header), counted against the bound.
const entryOverhead = 128

// Cache is a byte-bounded LRU map from keys to values of type V. It is safe
// for concurrent use. The counters are plain fields so that metrics can read
// them.
type Cache[V any] struct {
	// Hits, Misses, Evictions (for room) and Invalidations (changes) count
	// since the cache was made.
	Hits, Misses, Evictions, Invalidations atomic.Uint64

	now      func() time.Time
	maxBytes int64

	mu    sync.Mutex
	gen   uint64
	bytes int64
	items map[string]*list.Element
	lru   list.List // front: most recently used
	// expires is when the current generation ends by itself (the next
	// scheduled publication); zero: only a change ends it. expiresKnown
	// is false until the caller has said, and nothing is stored until then.
	expires      time.Time
	expiresKnown bool
}

type entry[V any] struct {
	key  string
	val  V
	size int64
}

// New makes a cache that holds at most maxBytes (as reported by Put) and
// reads time from now.
func New[V any](maxBytes int64, now func() time.Time) *Cache[V] {
	return &Cache[V]{maxBytes: maxBytes, now: now, items: map[string]*list.Element{}}
}

// Get returns the value stored under key in the current generation.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	c.expireLocked()
	el, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		c.Misses.Add(1)
		var zero V
		return zero, false
	}
	c.lru.MoveToFront(el)
	v := el.Value.(*entry[V]).val
	c.mu.Unlock()
	c.Hits.Add(1)
	return v, true
}

// Generation is the current generation. Read it before reading the data a
// value is made from, and pass it to Put and SetExpiry.
func (c *Cache[V]) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked()
	return c.gen
}

// ExpiryKnown reports whether SetExpiry has been called in generation gen.
func (c *Cache[V]) ExpiryKnown(gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen == gen && c.expiresKnown
}

// SetExpiry says when generation gen ends by itself (zero: never). Until it
// is called, Put stores nothing, since a value might outlive the data's
// next scheduled change.
func (c *Cache[V]) SetExpiry(gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.expires, c.expiresKnown = at, true
	}
}

// Put stores v of size bytes under key, if generation gen is still current
// and its expiry is known, evicting the least recently used values to stay
// within the bound. A value larger than a quarter of the bound is not
// stored: one huge page must not flush every other.
func (c *Cache[V]) Put(gen uint64, key string, v V, size int) {
	total := int64(size+len(key)) + entryOverhead
	if total > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked()
	if c.gen != gen || !c.expiresKnown {
		return
	}
	if el, ok := c.items[key]; ok {
		c.removeLocked(el)
	}
	c.items[key] = c.lru.PushFront(&entry[V]{key: key, val: v, size: total})
	c.bytes += total
	for c.bytes > c.maxBytes {
		c.removeLocked(c.lru.Back())
		c.Evictions.Add(1)
	}
}

// Invalidate starts a new generation: every stored value is dropped and
// values made from data read before now are refused.
func (c *Cache[V]) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidateLocked()
}

// Bytes is how many bytes the stored values take, overhead included.
func (c *Cache[V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Len is how many values are stored.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *Cache[V]) expireLocked() {
	if c.expiresKnown && !c.expires.IsZero() && !c.now().Before(c.expires) {
		c.invalidateLocked()
	}
}

func (c *Cache[V]) invalidateLocked() {
	c.gen++
	c.expires, c.expiresKnown = time.Time{}, false
	clear(c.items)
	c.lru.Init()
	c.bytes = 0
	c.Invalidations.Add(1)
}

func (c *Cache[V]) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*entry[V])
	delete(c.items, e.key)
	c.bytes -= e.size
}
