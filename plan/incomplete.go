package plan

import "errors"

// ErrIncompleteRead is wrapped by a Source's error when the read did not
// cover the whole IdP (a page that failed after its retries, a dropped
// connection, a server limit). Compute leaves such an IdP out of the plan,
// so a partial read never deprovisions anybody.
var ErrIncompleteRead = errors.New("the read of the identity provider is incomplete")
