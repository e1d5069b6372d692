package cache_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/cache"
)

func newCache(maxBytes int64, now *time.Time) *cache.Cache[string] {
	c := cache.New[string](maxBytes, func() time.Time { return *now })
	c.SetExpiry(c.Generation(), time.Time{})
	return c
}

func TestBoundedInBytes(t *testing.T) {
	now := time.Now()
	c := newCache(64<<10, &now)
	gen := c.Generation()
	for i := range 100 {
		c.Put(gen, fmt.Sprintf("/posts/%d", i), "page", 4000)
		if c.Bytes() > 64<<10 {
			t.Fatalf("after %d puts the cache holds %d bytes, over its bound", i+1, c.Bytes())
		}
	}
	if c.Evictions.Load() == 0 || c.Len() >= 100 {
		t.Fatalf("nothing evicted: %d entries", c.Len())
	}
	// The most recent entries stay, the oldest went first.
	if _, ok := c.Get("/posts/99"); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.Get("/posts/0"); ok {
		t.Error("the oldest entry is still there")
	}
	// A value that would take a quarter of the cache is not kept.
	c.Put(gen, "/huge", "page", 20<<10)
	if _, ok := c.Get("/huge"); ok {
		t.Error("a value of a quarter of the bound was stored")
	}
}

func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	now := time.Now()
	c := newCache(4*(100+2+128), &now) // room for four
	gen := c.Generation()
	for _, k := range []string{"/a", "/b", "/c", "/d"} {
		c.Put(gen, k, k, 100)
	}
	c.Get("/a") // /b is now the least recently used
	c.Put(gen, "/e", "e", 100)
	if _, ok := c.Get("/b"); ok {
		t.Error("/b should have been evicted")
	}
	for _, k := range []string{"/a", "/c", "/d", "/e"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
}

func TestInvalidateRefusesOldGenerations(t *testing.T) {
	now := time.Now()
	c := newCache(1<<20, &now)
	gen := c.Generation()
	c.Put(gen, "/", "old home", 10)
	c.Invalidate()
	if _, ok := c.Get("/"); ok {
		t.Fatal("a value survived Invalidate")
	}
	// A reader that read the data before the change must not store it.
	c.Put(gen, "/", "old home", 10)
	if _, ok := c.Get("/"); ok {
		t.Fatal("a page rendered before the change was stored after it")
	}
	// In the new generation nothing is stored until its expiry is known.
	gen = c.Generation()
	c.Put(gen, "/", "new home", 10)
	if _, ok := c.Get("/"); ok {
		t.Fatal("stored before the generation's expiry was known")
	}
	c.SetExpiry(gen, time.Time{})
	c.Put(gen, "/", "new home", 10)
	if v, ok := c.Get("/"); !ok || v != "new home" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if c.Hits.Load() != 1 || c.Invalidations.Load() != 1 {
		t.Errorf("hits %d, invalidations %d", c.Hits.Load(), c.Invalidations.Load())
	}
}

func TestExpiresAtTheNextPublication(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	c := cache.New[string](1<<20, func() time.Time { return now })
	gen := c.Generation()
	c.SetExpiry(gen, now.Add(time.Hour))
	c.Put(gen, "/", "home", 10)
	now = now.Add(59 * time.Minute)
	if _, ok := c.Get("/"); !ok {
		t.Fatal("expired early")
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("/"); ok {
		t.Fatal("still served when the scheduled post went out")
	}
	if c.Generation() == gen {
		t.Fatal("the expiry did not start a new generation")
	}
}
