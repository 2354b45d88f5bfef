package digits

import "github.com/peerster-chat/Peerster/gossiper"

// CommandHelp implements gossiper.CommandDescriber.
func (d *Digits) CommandHelp() []gossiper.CommandHelp {
	return []gossiper.CommandHelp{
		{Usage: "+ip:port", Help: "pull that digit node now"},
		{Usage: "0-9", Help: "set our own digit"},
		{Usage: "?", Help: "print the digit table"},
		{Usage: "!", Help: "print the connection records (stderr)"},
		{Usage: "a", Help: "toggle adversarial mode"},
	}
}
