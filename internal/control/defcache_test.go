package control

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
	"github.com/gantrybatch/gantry/store/storetest"
)

// TestDefCache checks the job definition cache of SubmitJob over a real
// store: a revision registered behind its back (another replica) is seen
// once the TTL has passed, invalidate makes it seen at once, and a
// deregistered definition stops resolving.
func TestDefCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := storesqlite.Open(ctx, storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	var mu sync.Mutex
	now := time.UnixMilli(storetest.BaseTime)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newDefCache(clock)

	require.NoError(t, st.JobDefinitionInsert(ctx, storetest.JobDefinition("d", 1)))
	def, err := c.resolve(ctx, st, "d")
	require.NoError(t, err)
	require.EqualValues(t, 1, def.Revision)

	require.NoError(t, st.JobDefinitionInsert(ctx, storetest.JobDefinition("d", 2)))
	def, err = c.resolve(ctx, st, "d")
	require.NoError(t, err)
	require.EqualValues(t, 1, def.Revision, "within the TTL the cached revision is used")
	advance(defCacheTTL)
	def, err = c.resolve(ctx, st, "d")
	require.NoError(t, err)
	require.EqualValues(t, 2, def.Revision, "after the TTL the store is read again")

	require.NoError(t, st.JobDefinitionInsert(ctx, storetest.JobDefinition("d", 3)))
	c.invalidate()
	def, err = c.resolve(ctx, st, "d")
	require.NoError(t, err)
	require.EqualValues(t, 3, def.Revision, "invalidate (a register on this server) is seen at once")

	stored, err := st.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: "d", Revision: 3})
	require.NoError(t, err)
	stored.Status = gantry.JobDefinitionInactive
	require.NoError(t, st.JobDefinitionUpdate(ctx, stored))
	c.invalidate()
	_, err = c.resolve(ctx, st, "d:3")
	require.Error(t, err, "an INACTIVE revision does not resolve")
}
