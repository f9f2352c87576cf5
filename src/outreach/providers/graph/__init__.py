"""Microsoft Graph: settings, tokens and the HTTP session shared by the transport and the reader."""
