package joblog

// Syncs returns how many fsyncs of stream files and of their directories
// the Store has made.
func Syncs(s *Store) int64 { return s.syncs.Load() }
