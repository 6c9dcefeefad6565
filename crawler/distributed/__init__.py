"""Scale-out: many worker processes, on many machines, crawling one shared store.

Redis carries the work (:mod:`.queue`: a Redis Stream of pages read by one consumer group) and the
politeness budget every worker shares (:mod:`.budget`); :mod:`.worker` runs the ordinary crawl loop
(:class:`crawler.runner.LoopCrawl`) for one page at a time. Why Redis Streams: docs/ARCHITECTURE.md.
"""
